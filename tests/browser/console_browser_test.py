#!/usr/bin/env python3
"""The web console end to end, in headless Chromium (Debian's package, driven by Playwright).

    console_browser_test.py single     one instance: forms, live list, account page, dead letters,
                                       metrics, 10,000 accounts paged through, search, token
                                       handling, keyboard and 200% zoom, axe-core on every page
    console_browser_test.py cluster    two instances: the cluster page shows both; one is killed and
                                       its partitions are seen moving to the other

It starts real `xbanku --act=serve` processes ($XBANKU_BINARY) on a broker of the test run
($XBANKU_TEST_BROKERS), each with its own topic, group, port and data folder, and opens the
console each one serves at `/`. Every page is checked with axe-core (web/node_modules/axe-core:
no serious or critical violation), every request the page makes must go to the service, and no
Content-Security-Policy violation or uncaught error may happen. A screenshot of each page goes
to docs/console/ ($XBANKU_SCREENSHOT_DIR).

Before the binary served the console, the test ran with XBANKU_CONSOLE_FRONT=vite: then each
instance gets a `vite preview` of web/ in front of it (web/dev/dev-api.ts: it proxies the API,
sends the same CSP, and mocks /cluster from the instances' /readyz and /dlq from the .dlq topic).

Prints one line per check and ends with "N passed, N failed, N skipped"; exits 1 on a failure.
"""
import concurrent.futures
import http.client as httpclient
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("XBANKU_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:
    # Run with any python3: Playwright lives in the virtualenv scripts/browser-test-install.sh makes.
    VENV = os.path.join(SOURCE, ".cache", "browser-venv")
    if os.path.exists(os.path.join(VENV, "bin", "python")) and not os.environ.get("XBANKU_BROWSER_REEXEC"):
        os.environ["XBANKU_BROWSER_REEXEC"] = "1"
        os.execv(os.path.join(VENV, "bin", "python"), [os.path.join(VENV, "bin", "python"), *sys.argv])
    sys.exit("Playwright for Python is missing: run scripts/browser-test-install.sh")
BINARY = os.environ.get("XBANKU_BINARY") or os.path.join(SOURCE, "build", "xbanku")
BROKERS = os.environ.get("XBANKU_TEST_BROKERS") or "127.0.0.1:9092"
CHROMIUM = os.environ.get("XBANKU_CHROMIUM") or "/usr/bin/chromium"
AXE_JS = os.environ.get("XBANKU_AXE_JS") or os.path.join(SOURCE, "web", "node_modules", "axe-core", "axe.min.js")
SHOTS = os.environ.get("XBANKU_SCREENSHOT_DIR") or os.path.join(SOURCE, "docs", "console")
FRONT = os.environ.get("XBANKU_CONSOLE_FRONT", "binary")  # "binary" or "vite"
PARTITIONS = 6
BULK_ACCOUNTS = int(os.environ.get("XBANKU_BROWSER_BULK", "10000"))
LIVE_BOUND_S = 5.0  # a change made by another client shows in the open page within this
FAILOVER_BOUND_S = 60.0  # a killed instance's partitions show on another owner within this

# Chromium flags: no sandbox (root in CI), and none of its background traffic to the outside.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 "--no-default-browser-check", "--password-store=basic"]
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# ---------------------------------------------------------------------------------------------
# Results

class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.notes = []

    def run(self, name, fn, *args):
        started = time.monotonic()
        try:
            detail = fn(*args)
        except Skip as s:
            self.skipped += 1
            print(f"SKIP {name}: {s}", flush=True)
            return None
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            self.failed += 1
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {type(e).__name__}: {e}", flush=True)
            return None
        self.passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.1f} s){': ' + detail if isinstance(detail, str) else ''}",
              flush=True)
        return detail if detail is not None else True

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped", flush=True)
        return 0 if self.failed == 0 else 1


class Skip(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def wait_for(fn, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout:.0f} s (last: {last!r})")


# ---------------------------------------------------------------------------------------------
# Services: xbanku instances, an optional vite front, HTTP as "another client"

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, dict(r.headers), raw
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except OSError:
        return 0, {}, b""


def http_json(method, url, body=None, headers=None):
    status, h, raw = http(method, url, body, headers)
    try:
        return status, h, json.loads(raw) if raw else None
    except ValueError:
        return status, h, None


def murmur2_partition(key: str, partitions: int = PARTITIONS) -> int:
    """Kafka's (Java client's) murmur2 partitioner, which xbanku uses for account ids."""
    data = key.encode()
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    for i in range(len(data) // 4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest, tail = len(data) % 4, len(data) & ~3
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def id_in_partition(partition, other_than=None):
    while True:
        candidate = str(uuid.uuid4())
        p = murmur2_partition(candidate)
        if (partition is None or p == partition) and (other_than is None or p != other_than):
            return candidate


class Instance:
    def __init__(self, name, topic, group, workdir):
        self.name = name
        self.topic = topic
        self.group = group
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = os.path.join(workdir, name)
        self.log_path = self.data + ".log"
        self.proc = None

    def start(self):
        os.makedirs(self.data, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BINARY, "--act=serve", "--brokers", BROKERS, "--topic", self.topic, "--group", self.group,
             "--partitions", str(PARTITIONS), "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}",
             "--instance-id", self.name, "--session-timeout-ms", "6000", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def readyz(self):
        status, _, body = http_json("GET", self.url + "/readyz")
        return body if status in (200, 503) and isinstance(body, dict) else None

    def wait_ready(self, timeout=90):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log {self.log_path}")
            r = self.readyz()
            return r if r and r.get("ready") else None
        return wait_for(ready, timeout, 0.2, f"{self.name} ready")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def metric(self, series):
        _, _, raw = http("GET", self.url + "/metrics")
        m = re.search("^" + re.escape(series) + r" (\S+)$", raw.decode(errors="replace"), re.M)
        return float(m.group(1)) if m else None


class ViteFront:
    """Development only: `vite preview` of web/ in front of an instance (see the module doc)."""

    dist = None

    def __init__(self, instance, cluster_urls, workdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        web = os.path.join(SOURCE, "web")
        vite = os.path.join(web, "node_modules", ".bin", "vite")
        if ViteFront.dist is None:
            ViteFront.dist = os.path.join(workdir, "dist")
            subprocess.run([vite, "build", "--outDir", ViteFront.dist, "--emptyOutDir", "--logLevel", "warn"],
                           cwd=web, check=True)
        env = dict(os.environ, XBANKU_DEV_UPSTREAM=instance.url, XBANKU_DEV_CLUSTER=",".join(cluster_urls),
                   XBANKU_DEV_BROKERS=BROKERS, XBANKU_DEV_TOPIC=instance.topic)
        self.log = open(os.path.join(workdir, f"vite-{self.port}.log"), "ab")
        self.proc = subprocess.Popen([vite, "preview", "--host", "127.0.0.1", "--port", str(self.port), "--strictPort",
                                      "--outDir", ViteFront.dist], cwd=web, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: http("GET", self.url + "/")[0] == 200, 30, 0.2, "vite preview answering")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# The browser

class Browser:
    def __init__(self, playwright, base, workdir):
        self.base = base
        self.ws_base = base.replace("http://", "ws://", 1)
        self.external = []
        self.csp = []
        self.errors = []
        self.console_errors = []
        self.axe_results = {}
        self.ctx = playwright.chromium.launch_persistent_context(
            os.path.join(workdir, "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="en-US",
            timezone_id="UTC", service_workers="block")
        self.ctx.set_default_timeout(15000)
        with open(AXE_JS, encoding="utf-8") as f:
            self.ctx.add_init_script(script=f.read())  # through DevTools, so the page's CSP does not apply
        self.ctx.add_init_script(script="""
            window.__csp = [];
            document.addEventListener('securitypolicyviolation',
              e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '')));
        """)
        self.ctx.on("request", self._request)
        self.page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _request(self, req):
        url = req.url
        if not (url.startswith(self.base + "/") or url == self.base or url.startswith(self.ws_base + "/")
                or url.startswith("data:")):
            self.external.append(url)

    def _console(self, msg):
        if msg.type != "error":
            return
        text = msg.text
        if "Content Security Policy" in text or text.startswith("Refused to"):
            self.csp.append(text)
        else:
            self.console_errors.append(text)

    PAGES = {"accounts": "xb-accounts-page", "commands": "xb-commands-page", "cluster": "xb-cluster-page",
             "dead-letters": "xb-dead-letters-page", "metrics": "xb-metrics-page"}

    def goto(self, route):
        """Opens a route (a same-document navigation between routes) and waits for its page's heading."""
        self.page.goto(f"{self.base}/#{route}")
        parts = route.split("?")[0].strip("/").split("/")
        tag = "xb-account-page" if len(parts) == 2 else self.PAGES[parts[0]]
        self.page.wait_for_selector(f"main > {tag} h1")

    def heading(self):
        return self.page.inner_text("main h1")

    def shot(self, name, full_page=True):
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, name + ".png")
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.mouse.move(1, 1)
        self.page.wait_for_timeout(1300)  # let the live-change highlights fade
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def axe(self, name):
        self.page.wait_for_function("() => typeof window.axe === 'object'")
        violations = self.page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        self.axe_results[name] = violations
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        others = ", ".join(f"{v['id']} ({v['impact']})" for v in violations if v not in bad)
        expect(not bad, f"axe on {name}: " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
                                                        for v in bad))
        return f"axe {name}: no serious or critical violation" + (f"; minor: {others}" if others else "")

    def close(self):
        self.ctx.close()


# ---------------------------------------------------------------------------------------------
# Single instance

def single(results, pw, workdir):
    suffix = uuid.uuid4().hex[:8]
    topic = f"browser-{suffix}"
    inst = Instance("console-1", topic, f"browser-g-{suffix}", workdir)
    front = b = None
    s = {}
    try:
        inst.start()
        inst.wait_ready()
        front = ViteFront(inst, [inst.url], workdir) if FRONT == "vite" else None
        base = front.url if front else inst.url
        require_console(base)
        api = inst.url
        b = Browser(pw, base, workdir)
        if FRONT == "binary":
            results.run("serving: index.html and assets with CSP, cache headers and ETags", check_serving, base)
        results.run("commands: create an account through the form", commands_create, b, api, s)
        results.run("commands: deposit, withdraw, and a resend with the same Idempotency-Key", commands_money, b, api, s)
        results.run("commands: a transfer goes pending -> completed, one to a missing account -> refunded",
                    commands_transfer, b, api, s)
        results.run("commands page: screenshot and axe", page_checks, b, "commands", None)
        results.run("accounts: another client's new account and deposit appear live, without reload",
                    accounts_live, b, api, s)
        results.run("accounts page: screenshot and axe", page_checks, b, "accounts", "/accounts")
        results.run("account: balance, owner, version, history; live while open", account_page, b, api, s)
        results.run("account page: screenshot and axe", page_checks, b, "account", None)
        results.run("dead letters: a malformed record shows with origin and reason", dead_letters, b, inst, s)
        results.run("dead letters page: screenshot and axe", page_checks, b, "dead-letters", "/dead-letters")
        results.run("metrics: four charts from /metrics, moving under load", metrics_page, b, api)
        results.run("metrics page: screenshot and axe", page_checks, b, "metrics", "/metrics")
        results.run("cluster (one instance): members and partitions", cluster_single, b, inst)
        results.run("cluster page: axe", page_checks, b, "cluster-single", None, False)
        results.run(f"paging: {BULK_ACCOUNTS:,} accounts, page by page in id order", paging, b, api, s)
        results.run("search: by id prefix", search, b, api, s)
        results.run("keyboard: skip button, navigation by Tab and Enter", keyboard, b)
        results.run("200% zoom: no page scrolls sideways at 640 CSS pixels", zoom, b, s)
        results.run("authentication: a 401 is shown with its challenge; the token goes as Bearer and access_token",
                    auth, b, api, s)
        results.run("replay: /readyz's records left per partition shown as progress, then gone", replay, b, inst)
        results.run("the page made no request outside the service, no CSP violation, no uncaught error",
                    hygiene, b)
    finally:
        if b:
            b.close()
        if front:
            front.stop()
        inst.kill(signal.SIGTERM)


def require_console(base):
    status, h, raw = http("GET", base + "/")
    ctype = {k.lower(): v for k, v in h.items()}.get("content-type", "")
    if status != 200 or not ctype.startswith("text/html") or b"<xb-app" not in raw:
        raise RuntimeError(f"{base}/ does not serve the console (status {status}, {ctype or 'no content type'}): "
                           "a binary built with XBANKU_CONSOLE=ON serves it; with an older binary run "
                           "XBANKU_CONSOLE_FRONT=vite")


def check_serving(base):
    status, h, raw = http("GET", base + "/")
    hl = {k.lower(): v for k, v in h.items()}
    expect(status == 200, f"GET / answered {status}")
    expect(hl.get("content-type", "").startswith("text/html"), f"GET / content type {hl.get('content-type')}")
    expect(hl.get("content-security-policy") == CSP, f"GET / CSP is {hl.get('content-security-policy')!r}")
    expect("no-cache" in hl.get("cache-control", ""), f"GET / Cache-Control {hl.get('cache-control')!r}")
    etag = hl.get("etag", "")
    expect(etag.startswith('"'), f"GET / has no strong ETag ({etag!r})")
    expect(http("GET", base + "/", headers={"If-None-Match": etag})[0] == 304, "If-None-Match on / did not give 304")
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', raw.decode())
    expect(assets, "index.html references no /assets/ file")
    for a in assets:
        st, ah, _ = http("GET", base + a)
        ahl = {k.lower(): v for k, v in ah.items()}
        expect(st == 200, f"GET {a} answered {st}")
        expect("immutable" in ahl.get("cache-control", ""), f"{a}: Cache-Control {ahl.get('cache-control')!r}")
        expect(ahl.get("content-security-policy") == CSP, f"{a}: CSP {ahl.get('content-security-policy')!r}")
        expect(http("GET", base + a, headers={"If-None-Match": ahl.get("etag", "")})[0] == 304,
               f"If-None-Match on {a} did not give 304")
    expect(http("GET", base + "/assets/no-such-file.js")[0] == 404, "a missing asset is not 404")
    return f"{len(assets)} assets, immutable, ETag/304, CSP"


def outcome(b, op, final=("applied", "completed", "refunded", "rejected", "failed")):
    """Waits for the newest outcome of `op` to settle; returns its attributes and text."""
    sel = f"li.outcome[data-op='{op}']"
    b.page.wait_for_function(
        "([sel, final]) => { const o = document.querySelector(sel); return o && final.includes(o.dataset.status); }",
        arg=[sel, list(final)], timeout=20000)
    el = b.page.query_selector(sel)
    return {"status": el.get_attribute("data-status"), "account": el.get_attribute("data-account"),
            "transfer": el.get_attribute("data-transfer"), "text": el.inner_text()}


def submit(b, op, fields):
    form = f"form[data-op='{op}']"
    for name, value in fields.items():
        b.page.fill(f"{form} [data-field='{name}']", value)
    count = len(b.page.query_selector_all(f"li.outcome[data-op='{op}']"))
    b.page.click(f"{form} button[type=submit]")
    b.page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n",
                             arg=[f"li.outcome[data-op='{op}']", count])


def account(api, account_id):
    status, _, body = http_json("GET", f"{api}/accounts/{account_id}")
    expect(status == 200, f"GET /accounts/{account_id} answered {status}")
    return body


def commands_create(b, api, s):
    b.goto("/commands")
    expect(b.heading() == "Commands", f"heading {b.heading()!r}")
    submit(b, "create", {"name": "Ada Lovelace"})
    o = outcome(b, "create")
    expect(o["status"] == "applied", f"create outcome {o['status']}: {o['text']}")
    s["ada"] = o["account"]
    expect(account(api, s["ada"])["name"] == "Ada Lovelace", "the account's name")
    expect(re.search(r"partition \d+, offset \d+", o["text"]), f"no position in the outcome: {o['text']}")
    expect(re.search(r"Latency\s*[\d.]+ (ms|s)", o["text"]), f"no latency in the outcome: {o['text']}")
    # The new id is offered to the other forms.
    expect(b.page.input_value("form[data-op='deposit'] [data-field='account']") == s["ada"], "deposit form not prefilled")
    return f"account {s['ada']}"


def commands_money(b, api, s):
    ada = s["ada"]
    submit(b, "deposit", {"account": ada, "amount": "12.34"})
    o = outcome(b, "deposit")
    expect(o["status"] == "applied", f"deposit outcome {o['status']}: {o['text']}")
    expect("12.34" in o["text"], f"the outcome does not show the balance 12.34: {o['text']}")
    expect(account(api, ada)["balance"] == 1234, "balance after the deposit")
    # The form made a new key; send the same deposit again under the key it used: nothing applies twice.
    used_key = re.search(r"Key ([0-9a-f-]{36})", o["text"]).group(1)
    submit(b, "deposit", {"account": ada, "amount": "12.34", "key": used_key})
    o = outcome(b, "deposit")
    expect(o["status"] == "applied", f"repeated deposit outcome {o['status']}")
    expect(account(api, ada)["balance"] == 1234, "a repeated Idempotency-Key applied the deposit twice")
    submit(b, "withdraw", {"account": ada, "amount": "2.34"})
    o = outcome(b, "withdraw")
    expect(o["status"] == "applied" and account(api, ada)["balance"] == 1000, f"withdraw: {o['text']}")
    submit(b, "withdraw", {"account": ada, "amount": "1000"})
    o = outcome(b, "withdraw")
    expect(o["status"] == "rejected" and "insufficient_funds" in o["text"], f"overdraft: {o['text']}")
    return "12.34 in, the same key again changed nothing, 2.34 out, an overdraft rejected"


def commands_transfer(b, api, s):
    ada = s["ada"]
    ada_partition = murmur2_partition(ada)
    status, _, body = http_json("GET", f"{api}/accounts/{ada}/events?limit=1")
    expect(status == 200 and body["events"][0]["partition"] == ada_partition,
           "the test's murmur2 does not place accounts where the service does")
    bob = id_in_partition(None, other_than=ada_partition)
    status, _, _ = http_json("POST", f"{api}/accounts", {"name": "Bob Other-Partition", "id": bob})
    expect(status == 201, f"create Bob: {status}")
    s["bob"] = bob
    submit(b, "transfer", {"from": ada, "to": bob, "amount": "1.00"})
    o = outcome(b, "transfer", ("completed", "refunded", "rejected", "failed"))
    expect(o["status"] == "completed", f"transfer outcome {o['status']}: {o['text']}")
    steps = b.page.eval_on_selector_all("li.outcome[data-op='transfer'] >> nth=0 >> ol.steps li",
                                        "els => els.map(e => e.className)")
    expect(steps[-1] == "completed", f"steps {steps}")
    missing = id_in_partition(None, other_than=ada_partition)
    submit(b, "transfer", {"from": ada, "to": missing, "amount": "1.00"})
    o2 = outcome(b, "transfer", ("completed", "refunded", "rejected", "failed"))
    steps2 = b.page.eval_on_selector_all("li.outcome[data-op='transfer'] >> nth=0 >> ol.steps li",
                                         "els => els.map(e => e.className)")
    expect(o2["status"] == "refunded", f"transfer to a missing account: {o2['status']}: {o2['text']}")
    expect(account(api, ada)["balance"] == 900 and account(api, bob)["balance"] == 100, "balances after transfers")
    return f"steps {' -> '.join(steps)}; to a missing account: {' -> '.join(steps2)}"


def page_checks(b, name, route, shot=True):
    if route:
        b.goto(route)
    b.page.wait_for_timeout(300)
    detail = b.axe(name)
    if shot:
        b.shot(name)
    return detail


def row_balance(b, account_id):
    el = b.page.query_selector(f"table.accounts tr[data-id='{account_id}'] td.balance")
    return el.inner_text() if el else None


def accounts_live(b, api, s):
    b.goto("/accounts")
    b.page.wait_for_selector(f"tr[data-id='{s['ada']}']")
    b.page.wait_for_function("() => document.querySelector('.live-status')?.dataset.state === 'open'")
    b.page.evaluate("() => { window.__notReloaded = true; }")
    # Another client: a new account in the list's window, then a deposit to it.
    grace = id_in_partition(None)
    t0 = time.monotonic()
    status, _, _ = http_json("POST", f"{api}/accounts", {"name": "Grace Hopper", "id": grace})
    expect(status == 201, f"create over HTTP: {status}")
    b.page.wait_for_selector(f"tr[data-id='{grace}']", timeout=LIVE_BOUND_S * 1000)
    appeared = time.monotonic() - t0
    t1 = time.monotonic()
    status, _, _ = http_json("POST", f"{api}/accounts/{grace}/deposit", {"amount": 500})
    expect(status == 200, f"deposit over HTTP: {status}")
    b.page.wait_for_function(
        "id => document.querySelector(`table.accounts tr[data-id='${id}'] td.balance`)?.textContent.trim() === '5.00'",
        arg=grace, timeout=LIVE_BOUND_S * 1000)
    deposited = time.monotonic() - t1
    expect(b.page.evaluate("() => window.__notReloaded === true"), "the page was reloaded")
    s["grace"] = grace
    return (f"new account shown {appeared * 1000:.0f} ms after its create was sent, the deposit "
            f"{deposited * 1000:.0f} ms after it was sent (bound {LIVE_BOUND_S:.0f} s)")


def account_page(b, api, s):
    ada = s["ada"]
    b.goto("/accounts")
    b.page.click(f"tr[data-id='{ada}'] a")
    b.page.wait_for_function("id => location.hash === '#/accounts/' + id", arg=ada)
    b.page.wait_for_selector("dl.facts .balance")
    state = account(api, ada)
    expect(b.heading() == "Ada Lovelace", f"heading {b.heading()!r}")
    expect(b.page.inner_text("dl.facts .balance") == "9.00", f"balance {b.page.inner_text('dl.facts .balance')}")
    expect(b.page.inner_text("dl.facts .version") == str(state["version"]), "version")
    rows = b.page.query_selector_all("table.history tbody tr[data-type]")
    expect(len(rows) == state["version"], f"{len(rows)} history rows for version {state['version']}")
    types = [r.get_attribute("data-type") for r in rows]
    b.page.evaluate("() => { window.__notReloaded = true; }")
    t0 = time.monotonic()
    status, _, _ = http_json("POST", f"{api}/accounts/{ada}/deposit", {"amount": 100})
    expect(status == 200, f"deposit over HTTP: {status}")
    b.page.wait_for_function("() => document.querySelector('dl.facts .balance')?.textContent.trim() === '10.00'",
                             timeout=LIVE_BOUND_S * 1000)
    b.page.wait_for_function("n => document.querySelectorAll('table.history tbody tr[data-type]').length === n",
                             arg=state["version"] + 1, timeout=LIVE_BOUND_S * 1000)
    expect(b.page.evaluate("() => window.__notReloaded === true"), "the page was reloaded")
    return f"history {' '.join(types)}; a deposit from elsewhere shown after {(time.monotonic() - t0) * 1000:.0f} ms"


def dead_letters(b, inst, s):
    if not shutil.which("kcat"):
        raise Skip("kcat is not installed (scripts/install-deps.sh installs it)")
    key = id_in_partition(None)
    before = inst.metric('xbanku_records_total{result="dead_lettered"}') or 0
    subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", inst.topic, "-p", str(murmur2_partition(key)), "-k", key],
                   input=b"this is not JSON {", check=True, timeout=30)
    wait_for(lambda: (inst.metric('xbanku_records_total{result="dead_lettered"}') or 0) > before, 30, 0.2,
             "the record dead-lettered")
    b.goto("/dead-letters")

    def shown():
        b.page.click("button:has-text('Refresh')")
        b.page.wait_for_selector("table.dead-letters[aria-busy='false']")
        return b.page.query_selector(f"table.dead-letters tbody tr:has(td.id:text-is('{key}'))")
    row = wait_for(shown, 20, 0.5, "the dead letter on the page")
    reason, origin = row.query_selector("td.reason").inner_text(), row.query_selector("td.origin").inner_text()
    expect("malformed" in reason, f"reason {reason!r}")
    expect(origin.startswith(inst.topic + " / "), f"origin {origin!r}")
    return f"{origin}: {reason}"


def metrics_page(b, api):
    b.goto("/metrics")
    # Load for a few scrapes, so the lines move.
    ids = [http_json("POST", f"{api}/accounts", {"name": f"load {i}"})[2]["id"] for i in range(4)]
    stop = time.monotonic() + 7
    n = 0
    while time.monotonic() < stop:
        http_json("POST", f"{api}/accounts/{ids[n % 4]}/deposit", {"amount": 1})
        n += 1
    b.page.wait_for_function("() => document.querySelectorAll('figure.chart canvas').length === 4")

    def moving():
        latest = b.page.eval_on_selector_all("figure.chart[data-chart='commands'] .latest", "e => e.map(x => x.textContent)")
        scrapes = b.page.eval_on_selector_all("figure.chart", "e => e.length")
        return latest and latest[0] not in ("—", "0") and scrapes == 4
    wait_for(moving, 15, 0.5, "a non-zero commands/s")
    figures = b.page.eval_on_selector_all("figure.chart", "els => els.map(e => e.dataset.chart + ': ' + e.querySelector('.plot').getAttribute('aria-label'))")
    lag_series = b.page.eval_on_selector_all("figure.chart[data-chart='lag'] .legend li", "e => e.length")
    expect(lag_series == PARTITIONS, f"{lag_series} lag series")
    return f"{n} deposits; " + " | ".join(f.split(' over the last')[0] + ':' + f.split('Latest:')[1] for f in figures)


def cluster_single(b, inst):
    b.goto("/cluster")
    b.page.wait_for_selector("table.partitions tbody tr")
    owners = b.page.eval_on_selector_all("table.partitions tbody tr", "e => e.map(r => r.dataset.owner)")
    expect(owners == [inst.name] * PARTITIONS, f"owners {owners}")
    return f"{PARTITIONS} partitions owned by {inst.name}"


def create_bulk(api, n):
    """n accounts over HTTP with ?wait=false, 8 keep-alive connections; then waits until they are projected."""
    host, port = api.replace("http://", "").split(":")
    ids = [str(uuid.uuid4()) for _ in range(n)]

    def worker(chunk):
        conn = httpclient.HTTPConnection(host, int(port), timeout=30)
        for i in chunk:
            body = json.dumps({"name": f"Bulk {i:05d}", "id": ids[i]})
            for _ in range(20):
                conn.request("POST", "/accounts?wait=false", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status in (201, 202):
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"create {i}: {r.status}")
        conn.close()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, [range(k, n, 8) for k in range(8)]))
    return ids


def api_ids(api):
    ids, after = [], ""
    while True:
        _, _, body = http_json("GET", f"{api}/accounts?limit=1000" + (f"&after={after}" if after else ""))
        ids += [a["id"] for a in body["accounts"]]
        if body["next"] is None:
            return ids
        after = body["next"]


def paging(b, api, s):
    t0 = time.monotonic()
    bulk = create_bulk(api, BULK_ACCOUNTS)
    wait_for(lambda: set(bulk) <= set(api_ids(api)), 120, 1, "the bulk accounts projected")
    expected = api_ids(api)
    created = time.monotonic() - t0
    s["total"] = len(expected)
    b.goto("/accounts?limit=1000")
    seen, pages, slowest = [], 0, 0.0
    while True:
        b.page.wait_for_selector("table.accounts[aria-busy='false'] tbody tr[data-id]")
        ids = b.page.eval_on_selector_all("table.accounts tbody tr[data-id]", "e => e.map(r => r.dataset.id)")
        seen += ids
        pages += 1
        nxt = b.page.query_selector("nav.pager button.next")
        if nxt.is_disabled():
            break
        t = time.monotonic()
        nxt.click()
        b.page.wait_for_function("n => document.querySelector('.page-no')?.textContent === 'Page ' + n", arg=pages + 1)
        b.page.wait_for_selector("table.accounts[aria-busy='false']")
        slowest = max(slowest, time.monotonic() - t)
        expect(pages < 1000, "paging does not end")
    expect(seen == expected, f"paged {len(seen)} ids (unique {len(set(seen))}), the API lists {len(expected)}")
    expect(pages > 1, f"{len(seen)} accounts fit one page: nothing was paged")
    # Back and first.
    b.page.click("nav.pager button:has-text('Previous page')")
    b.page.wait_for_function("n => document.querySelector('.page-no')?.textContent === 'Page ' + n", arg=pages - 1)
    b.page.click("nav.pager button:has-text('First page')")
    b.page.wait_for_function("() => document.querySelector('.page-no')?.textContent === 'Page 1'")
    b.page.wait_for_selector("table.accounts[aria-busy='false'] tbody tr[data-id]")
    expect(b.page.eval_on_selector("table.accounts tbody tr[data-id]", "r => r.dataset.id") == expected[0],
           "First page does not start at the first id")
    return (f"{BULK_ACCOUNTS:,} created and projected in {created:.1f} s; {len(seen):,} ids in {pages} pages of 1,000, "
            f"in order, none twice; slowest page {slowest * 1000:.0f} ms")


def search(b, api, s):
    probe = "fff"
    _, _, body = http_json("GET", f"{api}/accounts?limit=50&prefix={probe}")
    if not body or any(not a["id"].startswith(probe) for a in body.get("accounts", [])):
        raise Skip("this server ignores ?prefix= (the console filters each page itself meanwhile)")
    prefix = s["ada"][:3]
    b.goto("/accounts")
    b.page.fill("#accounts-search", prefix)
    b.page.wait_for_function("p => location.hash.includes('q=' + p)", arg=prefix)
    b.page.wait_for_selector(f"table.accounts[aria-busy='false'] tr[data-id='{s['ada']}']")
    ids = b.page.eval_on_selector_all("table.accounts tbody tr[data-id]", "e => e.map(r => r.dataset.id)")
    expect(ids and all(i.startswith(prefix) for i in ids), f"rows not matching {prefix}: {ids[:5]}")
    b.page.fill("#accounts-search", "xyz")
    b.page.wait_for_selector("#accounts-search-error")
    b.page.fill("#accounts-search", s["ada"])
    b.page.wait_for_selector(f"a:has-text('Open account {s['ada']}')")
    return f"{len(ids)} accounts start with {prefix}"


def keyboard(b):
    b.goto("/accounts")
    b.page.reload()  # the sequential focus starting point back at the document's start
    b.page.wait_for_selector("main > xb-accounts-page h1")
    b.page.keyboard.press("Tab")
    expect(b.page.evaluate("() => document.activeElement.textContent.trim()") == "Skip to content",
           "the first Tab does not reach the skip button")
    b.page.keyboard.press("Enter")
    expect(b.page.evaluate("() => document.activeElement.id") == "main", "the skip button does not focus the content")
    b.page.reload()
    b.page.wait_for_selector("main > xb-accounts-page h1")
    for _ in range(30):
        b.page.keyboard.press("Tab")
        if b.page.evaluate("() => document.activeElement.textContent.trim()") == "Metrics":
            break
    else:
        raise AssertionError("Tab never reached the Metrics link")
    b.page.keyboard.press("Enter")
    b.page.wait_for_function("() => location.hash === '#/metrics'")
    b.page.wait_for_function("() => document.activeElement.tagName === 'H1'")
    return "Tab reaches every control in order; a route change moves focus to the page's heading"


def zoom(b, s):
    b.page.set_viewport_size({"width": 640, "height": 400})
    try:
        wide = []
        for route in ["/accounts", f"/accounts/{s.get('ada', '')}", "/commands", "/cluster", "/dead-letters", "/metrics"]:
            b.goto(route)
            b.page.wait_for_timeout(400)
            over = b.page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if over > 1:
                wide.append(f"{route} by {over}px")
        expect(not wide, "scrolls sideways: " + ", ".join(wide))
    finally:
        b.page.set_viewport_size({"width": 1280, "height": 800})
    return "accounts, account, commands, cluster, dead letters, metrics"


def auth(b, api, s):
    """The API as it answers with authentication on, simulated in the browser: without the right
    token every request gets 401 with a WWW-Authenticate challenge, and the token's principal is
    no admin, so /ws refuses a subscription to every account ("*")."""
    secret = "test-token-" + uuid.uuid4().hex[:6]
    challenge = 'Bearer error="invalid_token", error_description="the token has expired"'
    seen = {"bearer": 0, "ws": [], "subs": []}

    def ws_gate(ws):
        seen["ws"].append(ws.url)
        server = ws.connect_to_server()

        def from_page(message):
            msg = json.loads(message)
            if msg.get("op") == "subscribe":
                seen["subs"].append(msg.get("accounts"))
                if msg.get("accounts") == "*":
                    ws.send(json.dumps({"id": msg["id"], "ok": False, "error": {
                        "code": "forbidden", "message": "only an admin may subscribe to every account"}}))
                    return
            server.send(message)
        ws.on_message(from_page)
    b.page.route_web_socket(re.compile(r"/ws(\?|$)"), ws_gate)

    def gate(route):
        auth_header = route.request.headers.get("authorization", "")
        if auth_header == f"Bearer {secret}":
            seen["bearer"] += 1
            route.continue_()
        else:
            route.fulfill(status=401, headers={"WWW-Authenticate": challenge, "Content-Type": "application/json"},
                          body=json.dumps({"error": {"code": "unauthorized", "message": "a bearer token is required"}}))
    pattern = re.compile(r"^" + re.escape(b.base) + r"/(accounts|commands|transfers|cluster|dlq|metrics)")
    b.page.route(pattern, gate)
    try:
        b.goto("/accounts")
        b.page.wait_for_selector(".banner.error[role=alert] h2:has-text('Authentication required')")
        text = b.page.inner_text(".banner.error[role=alert]")
        expect("error=\"invalid_token\"" in text, f"the challenge is not shown: {text}")
        b.page.fill("#token-input", secret)
        b.page.click("form.token button[type=submit]")
        # The page refetches with the token: no reload needed.
        b.page.wait_for_selector("table.accounts tbody tr[data-id]")
        b.page.wait_for_selector(".banner.error[role=alert]", state="detached")
        stored = b.page.evaluate("() => sessionStorage.getItem('xbanku.token')")
        expect(stored == secret, "the token is not in sessionStorage")
        b.page.wait_for_function("() => document.querySelector('.live-status')?.dataset.state === 'open'")
        expect(any(f"access_token={secret}" in u for u in seen["ws"]), f"no WebSocket with access_token: {seen['ws']}")
        expect(seen["bearer"] > 0, "no request carried the bearer token")
        # "*" refused: the page subscribes to the accounts it shows, and still sees them change.
        shown = b.page.eval_on_selector_all("table.accounts tbody tr[data-id]", "e => e.map(r => r.dataset.id)")
        wait_for(lambda: any(isinstance(a, list) and shown[0] in a for a in seen["subs"]), 5, 0.1,
                 f"a subscription naming the shown accounts (sent: {seen['subs']})")
        status, _, _ = http_json("POST", f"{api}/accounts/{shown[0]}/deposit", {"amount": 7})
        expect(status == 200, f"deposit over HTTP: {status}")
        before = account(api, shown[0])["balance"]
        b.page.wait_for_function("([id, text]) => document.querySelector(`tr[data-id='${id}'] td.balance`)?.textContent.trim() === text",
                                 arg=[shown[0], f"{before // 100:,}.{before % 100:02d}"], timeout=LIVE_BOUND_S * 1000)
        b.page.click("form.token button:has-text('Forget token')")
        expect(b.page.evaluate("() => sessionStorage.getItem('xbanku.token')") is None, "Forget token kept it")
    finally:
        b.page.unroute(pattern)
    return (f"{seen['bearer']} requests with Authorization: Bearer; WebSocket /ws?access_token=…; '*' refused, "
            f"then {len(shown)} shown accounts subscribed by id and seen changing")


def replay(b, inst):
    """A start that replays the log, as /readyz tells it (503, records left per partition), played
    back to the page: a replay of this test's small topic is over before a page could show it."""
    calls = {"n": 0}

    def readyz(route):
        calls["n"] += 1
        left = max(0, 40000 - 4000 * calls["n"])
        lag = {str(p): (left * (p + 1)) // PARTITIONS for p in range(PARTITIONS)}
        lag["0"] = 0
        route.fulfill(status=503, headers={"Content-Type": "application/json", "Retry-After": "1"},
                      body=json.dumps({"ready": False, "instance": inst.name, "serving": [0], "lag": lag}))
    pattern = re.compile(r"^" + re.escape(b.base) + r"/readyz")
    b.page.route(pattern, readyz)
    try:
        b.goto("/accounts")
        b.page.reload()
        b.page.wait_for_selector("section.replay progress")
        b.page.wait_for_function("() => document.querySelectorAll('section.replay progress').length === 6")
        text = b.page.inner_text("section.replay")
        expect("left" in text and "Partition 0: caught up" in text, f"replay banner: {text}")
        b.page.wait_for_function("n => document.querySelector('section.replay') && Number(document.querySelector('#replay-5').value) > 0")
        axe = b.axe("replay")
        b.shot("replay", full_page=False)
    finally:
        b.page.unroute(pattern)
    b.page.wait_for_selector("section.replay", state="detached", timeout=10000)
    return f"{calls['n']} answers shown with progress bars; gone once ready; {axe}"


def hygiene(b):
    csp = b.csp + b.page.evaluate("() => window.__csp || []")
    expect(not b.external, f"requests outside the service: {b.external[:5]}")
    expect(not csp, f"CSP violations: {csp[:5]}")
    expect(not b.errors, f"uncaught errors: {b.errors[:5]}")
    kinds = sorted({re.sub(r"\d{3}", "NNN", e)[:80] for e in b.console_errors})
    return f"{len(b.console_errors)} console errors, all from answers the test caused: {kinds}" if kinds else "clean"


# ---------------------------------------------------------------------------------------------
# Two instances

def cluster(results, pw, workdir):
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"browser-c-{suffix}", f"browser-cg-{suffix}"
    a = Instance("node-a", topic, group, workdir)
    c = Instance("node-b", topic, group, workdir)

    def split():
        ra, rc = a.readyz(), c.readyz()
        if not ra or not rc or not ra["ready"] or not rc["ready"]:
            return None
        sa, sc = set(ra["serving"]), set(rc["serving"])
        return (sa, sc) if sa and sc and not sa & sc and sa | sc == set(range(PARTITIONS)) else None
    front = b = None
    try:
        a.start()
        a.wait_ready()
        c.start()
        c.wait_ready()
        _, mine_b = wait_for(split, 60, 0.5, "both instances serving a share of the partitions")
        front = ViteFront(a, [a.url, c.url], workdir) if FRONT == "vite" else None
        require_console(front.url if front else a.url)
        b = Browser(pw, front.url if front else a.url, workdir)
        state = {"b_partitions": sorted(mine_b)}
        results.run("cluster: both members and each partition's owner", cluster_both, b, a, c, state)
        results.run("cluster page (two instances): screenshot and axe", page_checks, b, "cluster", None)
        results.run("cluster: a killed instance is shown gone and its partitions move", cluster_failover, b, a, c,
                    state)
        results.run("cluster page after the failover: screenshot and axe", page_checks, b, "cluster-failover", None)
        results.run("the page made no request outside the service, no CSP violation, no uncaught error", hygiene, b)
    finally:
        if b:
            b.close()
        if front:
            front.stop()
        a.kill(signal.SIGTERM)
        c.kill(signal.SIGTERM)


def owners(b):
    return b.page.eval_on_selector_all("table.partitions tbody tr",
                                       "e => Object.fromEntries(e.map(r => [r.dataset.partition, r.dataset.owner]))")


def cluster_both(b, a, c, state):
    b.goto("/cluster")

    def settled():
        o = owners(b)
        alive = b.page.eval_on_selector_all("table.members tbody tr[data-alive='true']", "e => e.map(r => r.dataset.instance)")
        want = {str(p): (c.name if p in state["b_partitions"] else a.name) for p in range(PARTITIONS)}
        return o == want and sorted(alive) == sorted([a.name, c.name])
    wait_for(settled, 30, 0.5, "the page showing both members and the readyz split")
    return f"{c.name} owns {state['b_partitions']}, {a.name} the rest"


def cluster_failover(b, a, c, state):
    t0 = time.monotonic()
    c.kill(signal.SIGKILL)
    gone = wait_for(lambda: b.page.query_selector(f"table.members tr[data-instance='{c.name}'][data-alive='false']"),
                    FAILOVER_BOUND_S, 0.2, f"{c.name} shown gone")
    t_gone = time.monotonic() - t0
    expect(gone is not None, "gone")

    def moved():
        o = owners(b)
        return all(o.get(str(p)) == a.name for p in range(PARTITIONS))
    wait_for(moved, FAILOVER_BOUND_S, 0.2, f"{c.name}'s partitions owned by {a.name}")
    t_moved = time.monotonic() - t0
    notes = b.page.eval_on_selector_all("table.partitions tr.moved td:last-child", "e => e.map(x => x.textContent.trim())")
    expect(len(notes) >= len(state["b_partitions"]), f"moves noted: {notes}")
    return (f"SIGKILL {c.name}: shown gone after {t_gone:.1f} s, partitions {state['b_partitions']} on {a.name} "
            f"after {t_moved:.1f} s (session timeout 6 s)")


# ---------------------------------------------------------------------------------------------

def main():
    scenario = sys.argv[1] if len(sys.argv) > 1 else "single"
    if scenario not in ("single", "cluster"):
        print("usage: console_browser_test.py single|cluster", file=sys.stderr)
        return 2
    for path, what in [(BINARY, "XBANKU_BINARY"), (CHROMIUM, "chromium (scripts/browser-test-install.sh)"),
                       (AXE_JS, "axe-core (web/node_modules: npm ci in web/)")]:
        if not os.path.exists(path):
            print(f"missing {what}: {path}", file=sys.stderr)
            return 1
    results = Results()
    workdir = tempfile.mkdtemp(prefix=f"xbanku-browser-{scenario}-")
    print(f"console browser test ({scenario}): binary {BINARY}, broker {BROKERS}, front {FRONT}, work {workdir}",
          flush=True)
    try:
        with sync_playwright() as pw:
            (single if scenario == "single" else cluster)(results, pw, workdir)
    except (PlaywrightError, RuntimeError, TimeoutError, OSError, subprocess.CalledProcessError) as e:
        results.failed += 1
        print(f"FAIL setup: {type(e).__name__}: {e}", flush=True)
    code = results.summary()
    if code == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
