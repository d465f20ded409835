#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""/metrics with a real Prometheus, the Grafana dashboard and the
deployment files. The HTTP server under test (tests/http/pr_http_testd,
the real controlplane/http, metrics registry, event bus, API keys and a
real store) is scraped by Debian's prometheus, started here on loopback
with a temporary config (1 s interval, the API key sent as Bearer, as
configs/prometheus.yml does) and data directory. What a capture will feed
once `packetrecorder serve` drives the registry (packets by protocol,
drops, ring occupancy, commit and processing times, gRPC calls) is fed
through the test hook of pr_http_testd; the store figures come from the
store collector, HTTP and auth figures from real requests, event figures
from the bus. Checks: `promtool check metrics` passes; Prometheus reads
the series back through its HTTP API with the values fed; every query of
every panel of configs/grafana/dashboards/packetrecorder.json returns
data (the dashboard's variables set as Grafana would: all sensors, a rate
interval); the dashboard names the provisioned datasource; the dashboard
provider, datasource, configs/prometheus.yml (promtool check config) and
docker/docker-compose.yml agree on paths, service names, ports and
secrets."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httptest  # noqa: E402
import prtest  # noqa: E402

ck = prtest.Checks("test_http_prometheus")
SRC = prtest.SOURCE_DIR
DASH = os.path.join(SRC, "configs", "grafana", "dashboards", "packetrecorder.json")
PROV_DS = os.path.join(SRC, "configs", "grafana", "provisioning", "datasources", "prometheus.yml")
PROV_DB = os.path.join(SRC, "configs", "grafana", "provisioning", "dashboards",
                       "packetrecorder.yml")
PROM_CFG = os.path.join(SRC, "configs", "prometheus.yml")
COMPOSE = os.path.join(SRC, "docker", "docker-compose.yml")

try:
    import yaml  # python3-yaml (scripts/install-deps.sh)
except ImportError:
    yaml = None


def panel_targets(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p, t


def grafana_expr(expr, interval="30s"):
    """The query as Grafana sends it with "All" sensors selected."""
    return expr.replace("$__rate_interval", interval).replace("$instance", ".+")


def check_dashboard_static(dash, ds_uid):
    ids = [p["id"] for p in dash["panels"]]
    ck.eq(len(ids), len(set(ids)), "dashboard: panel ids are unique")
    ck.eq(dash.get("uid"), "packetrecorder", "dashboard: uid")
    bad = [p["title"] for p in dash["panels"]
           if p["gridPos"]["x"] + p["gridPos"]["w"] > 24 or p["gridPos"]["w"] <= 0]
    ck.ok(not bad, "dashboard: every panel fits the 24-column grid", repr(bad))
    uids = {t["datasource"]["uid"] for _, t in panel_targets(dash)}
    uids |= {p["datasource"]["uid"] for p in dash["panels"] if "datasource" in p}
    ck.eq(uids, {ds_uid}, "dashboard: every panel and query uses the provisioned datasource")
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for area in ("packets per second", "drops", "ring occupancy", "store", "http", "grpc",
                 "auth"):
        ck.ok(area in titles, "dashboard: has a panel on %s" % area)
    for p, t in panel_targets(dash):
        ck.ok(t.get("expr") and t.get("refId"), "panel %r: target has expr and refId" % p["title"])


def check_deploy_files(dash):
    if yaml is None:
        ck.ok(True, "python3-yaml is not installed: the YAML files were not read")
        return
    with open(PROV_DS) as fh:
        ds = yaml.safe_load(fh)
    with open(PROV_DB) as fh:
        prov = yaml.safe_load(fh)
    with open(COMPOSE) as fh:
        comp = yaml.safe_load(fh)
    with open(PROM_CFG) as fh:
        prom = yaml.safe_load(fh)
    dsrc = ds["datasources"][0]
    ck.eq(dsrc["type"], "prometheus", "datasource: type prometheus")
    check_dashboard_static(dash, dsrc["uid"])
    services = comp.get("services", {})
    ck.eq(sorted(services), ["grafana", "prometheus", "sensor"],
          "compose: services sensor, prometheus, grafana")
    ck.ok(dsrc["url"].startswith("http://prometheus:9090"),
          "datasource URL names the prometheus service", dsrc["url"])
    ck.ok("9090:9090" in services["prometheus"].get("ports", []),
          "compose: prometheus publishes 9090")
    ck.ok("3000:3000" in services["grafana"].get("ports", []), "compose: grafana publishes 3000")
    compose_dir = os.path.dirname(COMPOSE)
    mounts = {}
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            src, dst = v.split(":")[0], v.split(":")[1]
            if src.startswith("."):
                path = os.path.normpath(os.path.join(compose_dir, src))
                ck.ok(os.path.exists(path), "compose: %s mounts %s, which exists" % (name, src))
                mounts[(name, dst)] = path
            else:
                ck.ok(src in (comp.get("volumes") or {}), "compose: %s volume %s is declared" %
                      (name, src))
    provider_path = prov["providers"][0]["options"]["path"]
    dash_dir = mounts.get(("grafana", provider_path))
    ck.ok(dash_dir and os.path.exists(os.path.join(dash_dir, os.path.basename(DASH))),
          "grafana mounts configs/grafana/dashboards where the provider looks (%s)" %
          provider_path)
    ck.eq(mounts.get(("grafana", "/etc/grafana/provisioning/datasources")),
          os.path.dirname(PROV_DS), "grafana mounts the datasource provisioning")
    ck.eq(mounts.get(("grafana", "/etc/grafana/provisioning/dashboards")),
          os.path.dirname(PROV_DB), "grafana mounts the dashboard provisioning")
    home = services["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    ck.eq(home, provider_path + "/" + os.path.basename(DASH),
          "grafana's home dashboard is the provisioned file")
    cfg_arg = [a for a in services["prometheus"]["command"] if a.startswith("--config.file=")]
    ck.ok(cfg_arg and mounts.get(("prometheus", cfg_arg[0].split("=", 1)[1])) == PROM_CFG,
          "prometheus runs configs/prometheus.yml")
    # The scrape target is the sensor's HTTP port, reached through the host gateway.
    cmd = services["sensor"]["command"]
    port = cmd[cmd.index("--http-addr") + 1].rsplit(":", 1)[1]
    job = prom["scrape_configs"][0]
    targets = job["static_configs"][0]["targets"]
    ck.eq(targets, ["sensor:%s" % port], "prometheus scrapes the sensor's --http-addr port")
    ck.ok("sensor:host-gateway" in services["prometheus"].get("extra_hosts", []),
          "prometheus resolves the host-network sensor through the host gateway")
    ck.eq(services["sensor"].get("network_mode"), "host",
          "the sensor captures on the host's interfaces")
    ck.ok("serve" == cmd[0] and "--database" in cmd and "--grpc-addr" in cmd,
          "the sensor runs `packetrecorder serve` with a store and gRPC", repr(cmd))
    secrets = comp.get("secrets", {})
    for name, svc in services.items():
        for s in svc.get("secrets", []):
            ck.ok(s in secrets, "compose: %s's secret %s is declared" % (name, s))
    cred = job["authorization"]["credentials_file"]
    ck.eq(cred, "/run/secrets/packetrecorder_api_key",
          "prometheus sends the API key mounted as a secret")
    ck.eq(services["sensor"]["environment"]["PACKETRECORDER_API_KEYS_FILE"], cred,
          "the sensor accepts that same key")
    with open(os.path.join(compose_dir, "secrets", ".gitignore")) as fh:
        ignored = fh.read().split()
    for s in secrets.values():
        ck.ok(os.path.basename(s["file"]) in ignored,
              "secret file %s is kept out of git" % s["file"])
    build = services["sensor"]["build"]
    ck.ok(os.path.exists(os.path.join(compose_dir, build["context"], build["dockerfile"])),
          "the sensor's Dockerfile exists")
    if shutil.which("promtool"):
        # promtool checks that the credentials file exists: point it at a temporary one.
        with prtest.tmpdir("prpromcfg-") as d:
            keyf = os.path.join(d, "key")
            with open(keyf, "w") as fh:
                fh.write(httptest.API_KEY + "\n")
            with open(PROM_CFG) as fh:
                text = fh.read().replace(cred, keyf)
            cfgf = os.path.join(d, "prometheus.yml")
            with open(cfgf, "w") as fh:
                fh.write(text)
            p = subprocess.run(["promtool", "check", "config", cfgf], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            ck.eq(p.returncode, 0, "promtool check config configs/prometheus.yml",
                  p.stdout.decode())


with open(DASH) as fh:
    dashboard = json.load(fh)
with ck.section("deployment files"):
    check_deploy_files(dashboard)

if not httptest.have_all("prometheus", "promtool", "curl"):
    ck.ok(True, "prometheus, promtool or curl missing: the scrape was not tested")
    ck.finish()
httptest.testd_bin()

with prtest.tmpdir("prhttpprom-") as d:
    db = os.path.join(d, "s.db")
    # A retention limit makes the headroom behind days_left the store's own,
    # not the free space of a file system that other processes fill meanwhile.
    prtest.capture_file(db, prtest.fixture("mixed.pcap"), extra=["--retention-bytes", "256m"])
    keyf = os.path.join(d, "api_key")
    with open(keyf, "w") as fh:
        fh.write(httptest.API_KEY + "\n")
    srv = httptest.Server(db=db, args=["--open-health"])
    prom = None
    try:
        fed = {"tcp": [0, 0], "udp": [0, 0]}

        def feed(i):
            for proto, n, size in (("tcp", 100 + i, 1500), ("udp", 10 + i, 200)):
                srv.hook("packets %s %d %d" % (proto, n, n * size))
                fed[proto][0] += n
                fed[proto][1] += n * size
            srv.hook("drops ring_full %d" % (i + 1))
            srv.hook("drops kernel 2")
            srv.hook("ring veth0 0 %.2f" % (0.1 * (i % 5)))
            srv.hook("ring veth0 1 0.5")
            srv.hook("commit 0.004")
            srv.hook("process 0.0000031")
            srv.hook("flows %d" % (40 + i))
            srv.hook("backlog %d" % (65536 * (i % 3)))
            srv.hook("grpc /packetrecorder.v1.PacketRecorder/ListSessions OK")
            srv.hook('publish drops 1 {"ring_full":%d}' % (i + 1))
            httptest.curl(srv.base + "/api/v1/sessions")
            httptest.curl(srv.base + "/api/v1/sessions/424242")

        feed(0)
        httptest.curl(srv.base + "/api/v1/stats", key=None)  # an auth failure
        sse = httptest.SSE(srv.port)  # an event stream, counted
        with ck.section("promtool check metrics"):
            text = httptest.curl(srv.base + "/metrics").body.decode()
            p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            ck.eq(p.returncode, 0, "promtool check metrics passes (%d lines)" %
                  len(text.splitlines()), p.stdout.decode() + "\n" + text[:2000])
            for name in ("packetrecorder_packets_total", "packetrecorder_bytes_total",
                         "packetrecorder_active_sessions", "packetrecorder_flow_table_size",
                         "packetrecorder_packet_processing_seconds"):
                ck.ok("# TYPE %s " % name in text, "/metrics has %s (the original names)" % name)
        with ck.section("prometheus scrapes /metrics"):
            prom = httptest.Prometheus(d, srv.port, bearer_file=keyf)
            up = prtest.wait_until(lambda: prom.query('up{job="packetrecorder"} == 1'), 30, 0.5)
            ck.ok(up, "the target is up (scraped with the API key as Bearer)",
                  prom.logtext())
            # Several scrapes while the figures move, so that rates have points.
            for i in range(1, 7):
                feed(i)
                time.sleep(1.0)
            time.sleep(2.5)
            for proto in ("tcp", "udp"):
                v = prom.query('packetrecorder_packets_total{protocol="%s"}' % proto)
                ck.ok(v and float(v[0]["value"][1]) == fed[proto][0],
                      "packets_total{protocol=%s} read back: %d" % (proto, fed[proto][0]),
                      repr(v))
                v = prom.query('packetrecorder_bytes_total{protocol="%s"}' % proto)
                ck.ok(v and float(v[0]["value"][1]) == fed[proto][1],
                      "bytes_total{protocol=%s} read back: %d" % (proto, fed[proto][1]),
                      repr(v))
            v = prom.query('packetrecorder_drops_total{reason="ring_full",stage="dataplane"}')
            ck.ok(v and float(v[0]["value"][1]) == sum(range(1, 8)),
                  "drops_total{reason=ring_full,stage=dataplane} read back", repr(v))
            v = prom.query("packetrecorder_storage_sessions")
            ck.ok(v and float(v[0]["value"][1]) == 1, "storage_sessions from the store: 1",
                  repr(v))
            info = prtest.run_json(["store-info"], db=db)[0]
            v = prom.query("packetrecorder_storage_packets")
            ck.ok(v and float(v[0]["value"][1]) == info["packets"],
                  "storage_packets as `store-info`: %d" % info["packets"], repr(v))
            v = prom.query("packetrecorder_storage_retention_left_seconds")
            ck.ok(v and abs(float(v[0]["value"][1]) / 86400 - info["days_left"]) <
                  0.05 * info["days_left"] + 0.01,
                  "retention left as `store-info` days_left (%.3f days)" % info["days_left"],
                  repr(v))
            v = prom.query('packetrecorder_http_requests_total{route="/api/v1/sessions/{id}",'
                           'code="404"}')
            ck.ok(v and float(v[0]["value"][1]) >= 7, "HTTP 404s counted by route", repr(v))
            v = prom.query('packetrecorder_auth_failures_total{api="http",reason="missing"}')
            ck.ok(v and float(v[0]["value"][1]) >= 1, "the auth failure is counted", repr(v))
            v = prom.query("packetrecorder_event_subscribers")
            ck.ok(v and float(v[0]["value"][1]) == 1, "the open event stream is counted",
                  repr(v))
        with ck.section("every dashboard query returns data"):
            inst = prom.api("label/instance/values", **{"match[]": "packetrecorder_build_info"})
            ck.eq(inst, ["127.0.0.1:%d" % srv.port], "the $instance variable's query finds "
                  "the sensor")
            # Queries over what was fed or done above must show it, not only zeros.
            moving = {"Packets per second by protocol", "Bits per second by protocol",
                      "Drops per second by reason and stage", "Ring occupancy per worker",
                      "Flow table size", "Packet processing time (p50, p99)",
                      "Store size on disk", "Retention left", "Store write latency (p50, p99)",
                      "Stored packets and sessions", "Store reachable",
                      "HTTP requests per second by code", "HTTP latency p99 by route",
                      "gRPC calls per second by status", "Open connections and event streams"}
            for p, t in panel_targets(dashboard):
                expr = grafana_expr(t["expr"])
                res = prom.query(expr)
                vals = [float(r["value"][1]) for r in res]
                finite = [x for x in vals if math.isfinite(x)]
                ok = bool(res and finite)
                if p["title"] in moving:
                    ok = ok and max(finite) > 0
                ck.ok(ok, "%s [%s]: %d series, largest %s" % (
                    p["title"], t["refId"], len(res), max(finite) if finite else None),
                    expr + "\n" + repr(res))
        sse.close()
    finally:
        if prom:
            prom.stop()
        rc, secs = srv.stop()
    ck.eq(rc, 0, "the server exits cleanly after being scraped")

ck.finish()
