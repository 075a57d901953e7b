"""A real Kubernetes API server for tests and local development.

Why: no kube-apiserver, kind or Docker can run on the project's machines, but
our CRD manifests (Strimzi, Spark operator, SalesPipeline) and the kopf
operator must be checked against real API machinery: OpenAPI validation, CEL
rules, defaulting, status subresources, server-side apply, dry-run, watches.
`tools/kube/build.sh` builds upstream apiextensions-apiserver (wrapped as
`salespipe-apiserver`) and etcd from Debian's Go source packages; this module
runs them on 127.0.0.1, writes a token kubeconfig and installs CRDs.

Only CRDs/custom resources plus a minimal in-memory core v1 (namespaces,
events) are served: no Pods, ConfigMaps, Secrets, Deployments, RBAC or GC.

Library use::

    with KubeAPIServer(state_dir, kubeconfig, crd_files=default_crd_files()) as kube:
        ...  # kube.kubeconfig, kube.url, kube.token

CLI: ``python -m salespipe.dev.kube up|down|status``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml

from salespipe.dev.ports import free_port
from salespipe.dev.process import Service, stop_group
from salespipe.dev.shared import repo_root, shared_dir

_CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
FIELD_MANAGER = "salespipe-dev"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_crd_files() -> list[Path]:
    """The upstream CRDs our manifests must satisfy: Strimzi and the Spark operator."""
    crds = shared_dir() / "crds"
    return sorted((crds / "strimzi").glob("*.yaml")) + sorted(
        (crds / "spark-operator").glob("*.yaml")
    )


def project_crd_files() -> list[Path]:
    """Our own CRDs as committed under charts/ (generated from salespipe.control)."""
    return sorted((repo_root() / "charts" / "salespipe" / "crds").glob("*.yaml"))


def default_state_dir() -> Path:
    return repo_root() / ".salespipe" / "dev" / "kube"


def default_kubeconfig() -> Path:
    return repo_root() / ".salespipe" / "dev" / "kubeconfig"


def ensure_binaries() -> Path:
    """Directory holding `etcd` and `salespipe-apiserver`, built (and cached) if needed.

    SALESPIPE_KUBE_BIN points at prebuilt binaries; otherwise tools/kube/build.sh
    runs, which returns at once when its cache is current.
    """
    env = os.environ.get("SALESPIPE_KUBE_BIN")
    if env:
        return Path(env)
    script = repo_root() / "tools" / "kube" / "build.sh"
    out = subprocess.run(
        ["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is not None


def load_manifests(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """All YAML documents of the given files, in order (empty documents skipped)."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            # libyaml's loader when present: the Spark CRDs are ~800 KB each.
            docs.extend(d for d in yaml.load_all(fh, Loader=_YAML_LOADER) if d)
    return docs


@dataclass
class Timings:
    """Seconds spent in each start-up phase (reported by benchmarks and the CLI)."""

    etcd_ready: float = 0.0
    apiserver_ready: float = 0.0
    crds_established: float = 0.0


@dataclass
class KubeAPIServer(Service):
    """etcd + salespipe-apiserver as child process groups, with a token kubeconfig.

    Use as a context manager (or start()/stop()). Everything binds to 127.0.0.1
    on free ports; etcd's data lives in `state_dir` (wiped on start).
    """

    state_dir: Path
    kubeconfig: Path
    crd_files: Sequence[Path] = ()
    bin_dir: Path | None = None
    ready_timeout: float = 60.0
    timings: Timings = field(default_factory=Timings)
    url: str = ""
    etcd_url: str = ""
    token: str = field(default="", repr=False)
    pids: dict[str, int] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def ca_file(self) -> Path:
        """Self-signed serving cert + its CA, written by the API server."""
        return self.state_dir / "certs" / "apiserver.crt"

    def start(self) -> Self:
        """Start etcd and the API server, write the kubeconfig, install the CRDs."""
        bin_dir = self.bin_dir or ensure_binaries()
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        (self.state_dir / "certs").mkdir(parents=True)
        try:
            self._start_etcd(bin_dir)
            self._start_apiserver(bin_dir)
            self.write_kubeconfig()
            if self.crd_files:
                t0 = time.monotonic()
                self.install_crds(load_manifests(self.crd_files))
                self.timings.crds_established = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.state_dir / f"{name}.log").open("wb")
        # Own session = own process group, so stop() can signal the whole group.
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._procs.append(proc)
        self.pids[name] = proc.pid
        return proc

    def _start_etcd(self, bin_dir: Path) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        t0 = time.monotonic()
        proc = self._spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=salespipe",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=salespipe=http://127.0.0.1:{peer}",
                "--log-level=warn",
                "--unsafe-no-fsync",  # test data only: fsync dominates start-up and writes
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as r:
                return bool(json.load(r).get("health") == "true")

        self._wait("etcd", proc, healthy)
        self.timings.etcd_ready = time.monotonic() - t0

    def _start_apiserver(self, bin_dir: Path) -> None:
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        self.token = secrets.token_urlsafe(32)
        token_file = self.state_dir / "token"
        token_file.touch(mode=0o600)
        token_file.write_text(self.token, encoding="utf-8")
        t0 = time.monotonic()
        proc = self._spawn(
            "apiserver",
            [
                str(bin_dir / "salespipe-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.state_dir / 'certs'}",
                f"--token-file={token_file}",
            ],
        )

        def ready() -> bool:
            if not self.ca_file.exists():
                return False
            self.request("GET", "/readyz")
            return True

        self._wait("apiserver", proc, ready)
        self.timings.apiserver_ready = time.monotonic() - t0

    def _wait(self, name: str, proc: subprocess.Popen[bytes], probe: Any) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self._log(name)}")
            try:
                if probe():
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{name} not ready in {self.ready_timeout:.0f} s; see {self._log(name)}")

    def _log(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        """One authenticated API call; returns the decoded JSON (or text) answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context()) as r:
            raw = r.read().decode()
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    def write_kubeconfig(self) -> Path:
        """Kubeconfig (mode 0600) with the embedded CA and the bearer token."""
        import base64

        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "salespipe-dev",
                    "cluster": {"server": self.url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": "salespipe-admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "salespipe-dev",
                    "context": {
                        "cluster": "salespipe-dev",
                        "user": "salespipe-admin",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": "salespipe-dev",
        }
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        tmp.replace(self.kubeconfig)
        return self.kubeconfig

    def install_crds(self, crds: Sequence[dict[str, Any]], timeout: float = 60.0) -> None:
        """Server-side apply each CRD, then wait until all are Established.

        Server-side apply, not client-side: the Spark operator CRDs (~800 KB)
        exceed the 256 KiB last-applied annotation of `kubectl apply`.
        """
        names = []
        for crd in crds:
            name = crd["metadata"]["name"]
            self.request(
                "PATCH",
                f"{_CRD_PATH}/{name}?fieldManager={FIELD_MANAGER}&force=true",
                crd,
                content_type="application/apply-patch+yaml",
            )
            names.append(name)
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for name in sorted(pending):
                status = self.request("GET", f"{_CRD_PATH}/{name}").get("status") or {}
                if any(
                    c.get("type") == "Established" and c.get("status") == "True"
                    for c in status.get("conditions") or []
                ):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"CRDs not Established after {timeout:.0f} s: {sorted(pending)}")
            if pending:
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the API server, then etcd: SIGTERM the process groups, SIGKILL stragglers."""
        for proc in reversed(self._procs):
            stop_group(proc.pid, functools.partial(_exited, proc))
        self._procs.clear()

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory per process (Linux /proc), for benchmarks and `status`."""
        return {name: _rss(pid) for name, pid in self.pids.items()}


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _is_ours(pid: int, binary: str) -> bool:
    """Guards `down` against a recycled pid: the process must run our binary."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return Path(argv0).name == binary


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


_BINARIES = {"etcd": "etcd", "apiserver": "salespipe-apiserver"}


def _running(state_dir: Path) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads((state_dir / "up.json").read_text())
    except (OSError, ValueError):
        return None
    pids: dict[str, int] = info.get("pids", {})
    if pids and all(_is_ours(pid, _BINARIES[n]) for n, pid in pids.items()):
        return info
    return None


def cmd_up(state_dir: Path, kubeconfig: Path, crd_files: Sequence[Path]) -> int:
    """Start in the background (processes outlive this command) and record their pids."""
    info = _running(state_dir)
    if info:
        print(f"already running: {info['url']}", file=sys.stderr)
        print(kubeconfig)
        return 0
    kube = KubeAPIServer(state_dir=state_dir, kubeconfig=kubeconfig, crd_files=crd_files)
    kube.start()
    (state_dir / "up.json").write_text(
        json.dumps(
            {
                "url": kube.url,
                "pids": kube.pids,
                "kubeconfig": str(kubeconfig),
                "timings": vars(kube.timings),
            }
        )
    )
    t = kube.timings
    print(
        f"API server {kube.url} ready: etcd {t.etcd_ready:.2f} s, apiserver "
        f"{t.apiserver_ready:.2f} s, {len(crd_files)} CRD files established in "
        f"{t.crds_established:.2f} s",
        file=sys.stderr,
    )
    print(kubeconfig)
    return 0


def cmd_down(state_dir: Path) -> int:
    """Stop what `up` started (API server first, then etcd)."""
    info = _running(state_dir)
    if not info:
        print("not running", file=sys.stderr)
        return 0
    for name in ("apiserver", "etcd"):
        pid = info["pids"].get(name)
        if pid:
            stop_group(pid, functools.partial(_pid_gone, pid))
    (state_dir / "up.json").unlink(missing_ok=True)
    print("stopped", file=sys.stderr)
    return 0


def cmd_status(state_dir: Path) -> int:
    info = _running(state_dir)
    if not info:
        print("not running")
        return 1
    rss = {n: _rss(p) // 2**20 for n, p in info["pids"].items()}
    print(f"running: {info['url']} kubeconfig={info['kubeconfig']} rss_mib={rss}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salespipe.dev.kube",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    parser.add_argument("--kubeconfig", type=Path, default=default_kubeconfig())
    parser.add_argument(
        "--no-crds", action="store_true", help="skip the upstream and the SalesPipeline CRDs"
    )
    args = parser.parse_args(argv)
    if args.command == "up":
        crds = [] if args.no_crds else default_crd_files() + project_crd_files()
        return cmd_up(args.state_dir.resolve(), args.kubeconfig.resolve(), crds)
    if args.command == "down":
        return cmd_down(args.state_dir.resolve())
    return cmd_status(args.state_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
