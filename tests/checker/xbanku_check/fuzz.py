"""``python -m xbanku_check fuzz``: Schemathesis against an instance's /openapi.json, stateless
(examples, coverage, fuzzing) and stateful, bounded in examples and time.

The document xbanku serves has no OpenAPI links, so the stateful phase would only have what
Schemathesis infers. :func:`with_links` adds the links the document should carry (the report
lists them) to a local copy, and Schemathesis runs from that copy against the live instance.

Failures are 5xx answers and answers the document does not describe (status, content type,
headers, body schema), plus the stateful checks (a created account that then 404s). ``--strict``
adds the request-side checks (valid data refused, invalid data accepted), which mostly measure
how much of the validation the document expresses.

With ``--spawn`` it starts its own instance on a fresh topic and, after fuzzing, runs the checker
on that topic and ``--act=verify`` on the stopped instance: fuzzed traffic must leave a view
that agrees with its log.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from .check import run_check
from .cluster import LocalCluster, ServiceConfig, wait_quiescent

CONFIG = Path(__file__).resolve().parent.parent / "fuzz" / "schemathesis.toml"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,unsupported_method,allow_header_conformance,use_after_free,"
          "ensure_resource_availability")
STRICT_CHECKS = CHECKS + ",negative_data_rejection,positive_data_acceptance,missing_required_header"
# max examples per operation, seconds. One worker: Hypothesis's lambda-source cache trips
# CPython 3.11's "AST constructor recursion depth mismatch" when several threads generate.
PROFILES = {
    "ci": (40, 150),
    "long": (400, 1200),
}


def _link(operation_id: str, **parameters: str) -> dict:
    return {"operationId": operation_id, "parameters": parameters}


def links() -> dict[tuple[str, str, str], dict[str, dict]]:
    """(path, method, status) → the links its response should carry."""
    by_id = {"id": "$response.body#/id"}
    account = {
        "GetAccount": _link("getAccount", **by_id),
        "GetHistory": _link("getAccountHistory", **by_id),
        "Deposit": _link("deposit", **by_id),
        "Withdraw": _link("withdraw", **by_id),
        "GetCommand": _link("getCommand", command_id="$response.header.X-Command-Id"),
    }
    accepted = {"GetCommand": _link("getCommand", command_id="$response.body#/command_id")}
    return {
        ("/accounts", "post", "201"): account,
        ("/accounts", "post", "202"): accepted,
        ("/accounts/{id}/deposit", "post", "200"): account,
        ("/accounts/{id}/deposit", "post", "202"): accepted,
        ("/accounts/{id}/withdraw", "post", "200"): account,
        ("/accounts/{id}/withdraw", "post", "202"): accepted,
        ("/transfers", "post", "200"): {
            "GetSource": _link("getAccount", id="$response.body#/from"),
            "GetTarget": _link("getAccount", id="$response.body#/to"),
            "GetTransferAtTarget": _link("getTransferAtTarget", transfer_id="$response.body#/transfer_id",
                                         to="$response.body#/to"),
            "GetCommand": _link("getCommand", command_id="$response.header.X-Command-Id"),
        },
        ("/transfers", "post", "202"): accepted,
    }


def with_links(doc: dict) -> dict:
    """A copy of the OpenAPI document with :func:`links` added to its responses."""
    out = copy.deepcopy(doc)
    responses = out["components"]["responses"]
    for (path, method, status), extra in links().items():
        slot = out["paths"][path][method]["responses"]
        response = slot[status]
        if "$ref" in response:  # shared components: inline a copy, links are per operation
            response = copy.deepcopy(responses[response["$ref"].rsplit("/", 1)[1]])
            slot[status] = response
        response.setdefault("links", {}).update(extra)
    return out


def run_schemathesis(url: str, profile: str, strict: bool, seed: int | None, report_dir: Path) -> int:
    examples, seconds = PROFILES[profile]
    doc = with_links(httpx.get(url + "/openapi.json", timeout=10).json())
    report_dir.mkdir(parents=True, exist_ok=True)
    spec = report_dir / "openapi-with-links.json"
    spec.write_text(json.dumps(doc, indent=1))
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe), "--config-file", str(CONFIG), "--no-color", "run", str(spec), "--url", url,
           "--checks", STRICT_CHECKS if strict else CHECKS, "--max-examples", str(examples),
           "--max-time", str(seconds), "--workers", "1", "--report", "junit,ndjson",
           "--report-dir", str(report_dir)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    print("+", " ".join(cmd), flush=True)
    # In the report folder: Schemathesis keeps its crash cache (for `st replay`) where it runs.
    return subprocess.run(["nice", "-n", "5", *cmd], cwd=report_dir).returncode


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="a running instance (else --spawn one)")
    p.add_argument("--spawn", action="store_true", help="start an instance of --binary on a fresh topic")
    p.add_argument("--binary", default="build/xbanku")
    p.add_argument("--brokers", help="with --spawn")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    p.add_argument("--strict", action="store_true", help="also the request-side checks")
    p.add_argument("--seed", type=int)
    p.add_argument("--report-dir", default=None, help="default: a temporary folder")


def main(args: argparse.Namespace) -> int:
    report_dir = Path(args.report_dir or tempfile.mkdtemp(prefix="xbanku-fuzz-"))
    if not args.spawn:
        if not args.url:
            raise SystemExit("fuzz: give --url URL or --spawn --brokers B")
        status = run_schemathesis(args.url.rstrip("/"), args.profile, args.strict, args.seed, report_dir)
        print(f"reports: {report_dir}")
        return status
    topic = f"fuzz-{secrets.token_hex(4)}"
    config = ServiceConfig(str(Path(args.binary).resolve()), args.brokers, topic, topic, 6)
    cluster = LocalCluster(config, report_dir / "instance", 1)
    try:
        cluster.start()
        status = run_schemathesis(cluster.urls[0], args.profile, args.strict, args.seed, report_dir)
        asyncio.run(wait_quiescent(cluster.urls, args.brokers, topic))
        verdict = asyncio.run(run_check(args.brokers, topic, cluster.urls))
    finally:
        cluster.stop()
    print(verdict.render(limit=20))
    (verify_status, output), = cluster.verify().values()
    print(f"--act=verify after fuzzing: exit {verify_status}")
    if verify_status:
        print(output[-3000:])
    print(f"reports: {report_dir}")
    return status or (0 if verdict.ok and verify_status == 0 else 1)
