"""The supervisor: ports, links, init jobs, pods, the control API and runtime.json, until stopped.

Run detached by `doorbuster up` as `python -m retailflow.runtime.supervisor ...`; it stops on
SIGTERM/SIGINT, on `POST /shutdown`, or by itself when its time to live runs out, and takes
every replica down with it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from retailflow.common.config import ServiceConfig
from retailflow.common.errors import RetailFlowError
from retailflow.common.logs import setup_logging
from retailflow.runtime.control import create_control_app
from retailflow.runtime.errors import ControlError
from retailflow.runtime.expiry import Expiries
from retailflow.runtime.linkproxy import LinkProxy
from retailflow.runtime.options import Options, add_arguments, build_options
from retailflow.runtime.pods import Backoff, Pod, python_argv, run_job
from retailflow.runtime.ports import PortHolds
from retailflow.runtime.state import write_state
from retailflow.runtime.topology import DEFAULT_REPLICAS, LinkSpec, plan_links, pod_env

__all__ = ["Supervisor", "main"]

log = logging.getLogger("retailflow.runtime")
SERVE_MODULE = "retailflow.serve"
STOP_GRACE_S = 5.0
PROVIDER_TIMEOUT_S = 5.0


class Supervisor:
    def __init__(self, options: Options, *, on_ready: Callable[[Supervisor], None] | None = None) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.on_ready = on_ready
        self.holds = PortHolds()
        self.service_ports: dict[str, int] = {}
        self.links: dict[str, tuple[LinkSpec, LinkProxy]] = {}
        self.pods: list[Pod] = []
        self.init_seconds: dict[str, float] = {}  # how long each service's init job took
        self.control_url = ""
        self.started_at = time.time()
        self.create_time = psutil.Process().create_time()  # with the pid, tells this process from a reuse
        self.expires_at = self.started_at + options.ttl_s
        self.state = "starting"
        self.stop_reason = ""
        self._stop = asyncio.Event()
        self._dirty = asyncio.Event()
        self._announced_ready = False
        self.expiries = Expiries()
        self._session: aiohttp.ClientSession | None = None
        self._provider_baseline: dict[str, Any] | None = None  # the settings a provider fault replaced
        self._background: set[asyncio.Task[Any]] = set()

    # -- queries and actions (the control API calls these) ------------------------------------

    @property
    def storefront_url(self) -> str | None:
        port = self.service_ports.get("gateway")
        return f"http://127.0.0.1:{port}/" if port else None

    @property
    def profile(self) -> str:
        return "services" if self.options.env.get("RF_DB_URL") else "embedded"

    def status(self) -> dict[str, Any]:
        services = []
        for name in self.options.services:
            pods = [p for p in self.pods if p.service == name]
            services.append(
                {
                    "name": name,
                    "url": f"http://127.0.0.1:{self.service_ports[name]}",
                    "replicas": len(pods),
                    "init_s": self.init_seconds.get(name),
                    "ready": sum(p.ready for p in pods),
                }
            )
        return {
            "state": self.state,
            "storefront_url": self.storefront_url,
            "profile": self.profile,
            "control_url": self.control_url,
            "data_dir": str(self.data_dir),
            "pid": os.getpid(),
            "create_time": self.create_time,
            "started_at": self.started_at,
            "expires_at": self.expires_at,
            "all_ready": bool(self.pods) and all(p.ready for p in self.pods),
            "cpu_s": self._cpu_seconds(),
            "services": services,
            "pods": [p.snapshot() for p in self.pods],
            "links": [self.link_snapshot(name) for name in self.links],
            "faults": self.expiries.snapshot(),
        }

    def _cpu_seconds(self) -> dict[str, float]:
        """CPU time spent so far: a start's cost that, unlike wall time, a busy machine does not inflate."""
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # init jobs and replicas that exited
        live = 0.0
        for pod in self.pods:
            if pod.pid is not None:
                with contextlib.suppress(psutil.Error):
                    times = psutil.Process(pod.pid).cpu_times()
                    live += times.user + times.system
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "exited_children": round(reaped.ru_utime + reaped.ru_stime, 3),
            "live_pods": round(live, 3),
            "supervisor": round(own.ru_utime + own.ru_stime, 3),
        }

    def _pod(self, service: str, replica: int) -> Pod:
        for pod in self.pods:
            if pod.service == service and pod.replica == replica:
                return pod
        raise ControlError(
            f"no pod {service}/{replica}; pods are " + ", ".join(p.name for p in self.pods),
            code="not_found",
            status=404,
        )

    def kill_pod(self, service: str, replica: int, sig: int) -> int:
        pod = self._pod(service, replica)
        try:
            pid = pod.kill(sig)
        except ProcessLookupError as exc:
            raise ControlError(str(exc), code="not_running", status=409) from None
        log.warning("pod killed", extra={"pod": pod.name, "pid": pid, "signal": sig})
        return pid

    def link(self, name: str) -> LinkProxy:
        try:
            return self.links[name][1]
        except KeyError:
            known = ", ".join(self.links) or "none"
            raise ControlError(f"no link {name!r}; links are {known}", code="not_found", status=404) from None

    def link_snapshot(self, name: str) -> dict[str, Any]:
        spec, proxy = self.links[name]
        return {**proxy.snapshot(spec.src, spec.dst), "expires_at": self.expiries.expires_at(f"link:{name}")}

    # -- faults with a dead-man switch: each heals by itself when its expiry passes --------------

    def fault_link(self, name: str, fault: Callable[[LinkProxy], None], expires_in_s: float) -> dict[str, Any]:
        """Apply `fault` (cut, latency, bandwidth) to the link and arm its heal."""
        link = self.link(name)
        fault(link)
        self.expiries.arm(f"link:{name}", expires_in_s, link.heal, f"link {name} {link.state}")
        return self.link_snapshot(name)

    def heal_link(self, name: str) -> dict[str, Any]:
        link = self.link(name)
        link.heal()
        self.expiries.disarm(f"link:{name}")
        return self.link_snapshot(name)

    def freeze_pod(self, service: str, replica: int, expires_in_s: float) -> dict[str, Any]:
        pod = self._pod(service, replica)
        try:
            pid = pod.freeze()
        except ProcessLookupError as exc:
            raise ControlError(str(exc), code="not_running", status=409) from None
        self.expiries.arm(f"pod:{pod.name}", expires_in_s, pod.thaw, f"pod {pod.name} frozen")
        log.warning("pod frozen", extra={"pod": pod.name, "pid": pid, "expires_in_s": expires_in_s})
        return pod.snapshot()

    def thaw_pod(self, service: str, replica: int) -> dict[str, Any]:
        pod = self._pod(service, replica)
        if pod.thaw():
            log.warning("pod thawed", extra={"pod": pod.name})
        self.expiries.disarm(f"pod:{pod.name}")
        return pod.snapshot()

    def _service_pods(self, service: str) -> list[Pod]:
        pods = [p for p in self.pods if p.service == service]
        if not pods:
            raise ControlError(
                f"no service {service!r}; services are {', '.join(self.options.services)}",
                code="not_found",
                status=404,
            )
        return pods

    def stop_service(self, service: str, expires_in_s: float) -> dict[str, Any]:
        """Every replica of `service` killed and kept down until started again or expired."""
        pods = self._service_pods(service)
        for pod in pods:
            pod.hold_down()
        self.expiries.arm(f"service:{service}", expires_in_s, lambda: self._release(service), f"{service} stopped")
        log.warning("service stopped", extra={"service": service, "expires_in_s": expires_in_s})
        return self._service_snapshot(service)

    def _release(self, service: str) -> None:
        for pod in self._service_pods(service):
            pod.release()

    def start_service(self, service: str) -> dict[str, Any]:
        self._release(service)
        self.expiries.disarm(f"service:{service}")
        return self._service_snapshot(service)

    def _service_snapshot(self, service: str) -> dict[str, Any]:
        return {
            "service": service,
            "expires_at": self.expiries.expires_at(f"service:{service}"),
            "pods": [p.snapshot() for p in self._service_pods(service)],
        }

    async def rolling_restart(self, service: str, timeout_s: float) -> dict[str, Any]:
        """Replace each replica in turn: SIGTERM, an immediate restart, wait until it is ready."""
        steps = []
        deadline = time.monotonic() + timeout_s
        for pod in self._service_pods(service):
            started = time.monotonic()
            try:
                old_pid = pod.restart_planned()
            except ProcessLookupError as exc:
                raise ControlError(str(exc), code="not_running", status=409) from None
            while not (pod.ready and pod.pid not in (None, old_pid)):
                if time.monotonic() >= deadline:
                    raise ControlError(
                        f"rolling restart of {service}: {pod.name} was not ready again within {timeout_s:g} s "
                        f"(state {pod.state})",
                        code="rollout_timeout",
                        status=504,
                    )
                await asyncio.sleep(0.05)
            seconds = round(time.monotonic() - started, 3)
            steps.append({"pod": pod.name, "old_pid": old_pid, "new_pid": pod.pid, "seconds": seconds})
            log.warning("pod replaced", extra=steps[-1])
        return {"service": service, "steps": steps}

    async def _provider_call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if "payments" not in self.service_ports or self._session is None:
            raise ControlError("this shop runs no payments service", code="not_found", status=404)
        url = f"http://127.0.0.1:{self.service_ports['payments']}/admin/provider"
        try:
            async with self._session.request(
                method, url, json=body, timeout=aiohttp.ClientTimeout(total=PROVIDER_TIMEOUT_S)
            ) as resp:
                answer = await resp.json(content_type=None)
                if resp.status >= 400:
                    detail = answer.get("detail") if isinstance(answer, dict) else str(answer)
                    raise ControlError(f"payments refused the provider settings: {detail}", code="invalid", status=422)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ControlError(
                f"payments did not answer {method} /admin/provider: {exc or type(exc).__name__}",
                code="payments_unavailable",
                status=503,
            ) from None
        return dict(answer)

    async def provider(self) -> dict[str, Any]:
        settings = await self._provider_call("GET")
        return {**settings, "expires_at": self.expiries.expires_at("provider")}

    async def set_provider_fault(self, settings: dict[str, Any], expires_in_s: float) -> dict[str, Any]:
        if self._provider_baseline is None:
            self._provider_baseline = await self._provider_call("GET")
        answer = await self._provider_call("PUT", settings)
        heal = lambda: self._spawn(self._clear_provider_until_done())  # noqa: E731
        self.expiries.arm("provider", expires_in_s, heal, f"payment provider {answer}")
        return {**answer, "expires_at": self.expiries.expires_at("provider")}

    async def clear_provider_fault(self) -> dict[str, Any]:
        """Restore the settings the fault replaced; with no fault set, change nothing (a rollback
        on a healthy shop must not overwrite the provider's own settings)."""
        if self._provider_baseline is None:
            return await self.provider()
        answer = await self._provider_call("PUT", self._provider_baseline)
        self._provider_baseline = None
        self.expiries.disarm("provider")
        return {**answer, "expires_at": None}

    async def _clear_provider_until_done(self, attempts: int = 60) -> None:
        # The settings live in payments' store: if payments is down when the fault expires, retry.
        for _ in range(attempts):
            try:
                await self.clear_provider_fault()
                return
            except ControlError as exc:
                log.warning("could not clear the provider fault yet", extra={"error": exc.detail})
                await asyncio.sleep(1.0)

    async def heal_everything(self) -> dict[str, Any]:
        """Undo every fault: links healed, pods thawed, services started, provider cleared."""
        healed: list[str] = []
        for name, (_, proxy) in self.links.items():
            if proxy.state != "ok" or proxy.latency_ms or proxy.bandwidth_kbps:
                healed.append(f"link {name} healed")
            self.heal_link(name)
        for pod in self.pods:
            if pod.thaw():
                healed.append(f"pod {pod.name} thawed")
            self.expiries.disarm(f"pod:{pod.name}")
        for service in self.options.services:
            if any(pod.release() for pod in self._service_pods(service)):
                healed.append(f"service {service} started")
            self.expiries.disarm(f"service:{service}")
        if self._provider_baseline is not None or self.expiries.expires_at("provider") is not None:
            await self.clear_provider_fault()
            healed.append("payment provider fault cleared")
        return {"healed": healed}

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def audit(self, ledger: list[Any]) -> dict[str, Any]:
        try:
            from retailflow.audit import LedgerError, StoreUnreachable, run_audit
        except ImportError as exc:
            raise ControlError(
                f"the audit is not available in this build ({exc})", code="not_implemented", status=501
            ) from None
        # The audit reads the stores directly, not through the links an experiment may have cut.
        env = {**self.options.env, "RF_DATA_DIR": str(self.data_dir)}
        config = ServiceConfig.from_env("gateway", env)
        try:
            result = await asyncio.to_thread(run_audit, config, ledger)
        except LedgerError as exc:
            raise ControlError(f"the ledger is not valid: {exc}", code="invalid_ledger", status=422) from None
        except StoreUnreachable as exc:
            raise ControlError(
                f"the audit could not read a store: {exc}", code="store_unreachable", status=503
            ) from None
        except RetailFlowError as exc:
            raise ControlError(f"the audit failed: {exc}", code="audit_failed", status=500) from None
        return dict(result)

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            log.warning("stopping", extra={"reason": reason})
            self._stop.set()

    # -- lifecycle ----------------------------------------------------------------------------

    def _changed(self) -> None:
        self._dirty.set()
        if not self._announced_ready and self.pods and all(p.ready for p in self.pods):
            self._announced_ready = True
            log.info("all pods ready", extra={"after_s": round(time.time() - self.started_at, 2)})
            if self.on_ready is not None:
                self.on_ready(self)

    async def _write_state_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            write_state(self.data_dir, self.status())
            await asyncio.sleep(0.1)  # coalesce bursts of changes into one write

    def _plan(self) -> None:
        opts = self.options
        for name in opts.services:
            port = opts.port if name == "gateway" else 0
            self.service_ports[name] = self.holds.hold(port, shared=True)
        specs = plan_links(opts.services, self.service_ports, opts.env)
        self.links = {spec.name: (spec, LinkProxy(spec.name, spec.target_host, spec.target_port)) for spec in specs}

    def _make_pods(self) -> None:
        opts = self.options
        link_ports = {name: proxy.listen_port for name, (_, proxy) in self.links.items()}
        specs = [spec for spec, _ in self.links.values()]
        for name in opts.services:
            for replica in range(opts.replicas.get(name, DEFAULT_REPLICAS[name])):
                pod_port = self.holds.hold(0, shared=False)
                env = pod_env(
                    name,
                    replica,
                    base=opts.env,
                    data_dir=str(self.data_dir),
                    service_ports=self.service_ports,
                    links=specs,
                    link_ports=link_ports,
                )
                argv = python_argv(
                    SERVE_MODULE, name, "--service-port", str(self.service_ports[name]), "--pod-port", str(pod_port)
                )
                pod = Pod(
                    name,
                    replica,
                    argv=argv,
                    env=env,
                    pod_port=pod_port,
                    log_path=self.data_dir / "logs" / f"{name}-{replica}.log",
                    on_change=self._changed,
                    backoff=Backoff(base_s=opts.backoff_base_s),
                )
                pod.state = "init"
                self.pods.append(pod)

    async def _run_service(self, service: str, session: aiohttp.ClientSession) -> None:
        """The init job (schema + fixtures), retried with back-off, then the service's pods."""
        pods = [p for p in self.pods if p.service == service]
        backoff = Backoff(base_s=self.options.backoff_base_s)
        argv = python_argv(SERVE_MODULE, service, "--seed-only")
        while True:
            started = time.monotonic()
            code = await run_job(argv, env=pods[0].env, log_path=self.data_dir / "logs" / f"{service}-init.log")
            if code == 0:
                self.init_seconds[service] = round(time.monotonic() - started, 3)
                break
            delay = backoff.next_delay(time.monotonic() - started)
            log.warning("init job failed", extra={"job": f"{service}-init", "exit": code, "retry_in_s": delay})
            for pod in pods:
                pod.update(state="init-failed", last_exit=code)
            await asyncio.sleep(delay)
        async with asyncio.TaskGroup() as group:
            for pod in pods:
                group.create_task(pod.run(session))

    async def run(self) -> int:
        """Run until stopped; 0 when stopped on request or by the TTL."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_stop, f"signal {sig.name}")
        runner: web.AppRunner | None = None
        session: aiohttp.ClientSession | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            self._plan()
            for _, proxy in self.links.values():
                await proxy.start()
            self._make_pods()
            runner = web.AppRunner(create_control_app(self), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.control_url = f"http://127.0.0.1:{port}"
            self.state = "running"
            write_state(self.data_dir, self.status())
            log.info("supervisor running", extra={"control_url": self.control_url, "storefront": self.storefront_url})
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))
            self._session = session
            tasks.append(asyncio.create_task(self._write_state_loop()))
            tasks += [asyncio.create_task(self._run_service(s, session)) for s in self.options.services]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, self.expires_at - time.time()))
            if not self._stop.is_set():
                self.request_stop(f"time to live of {self.options.ttl_s:.0f} s is over")
        finally:
            self.state = "stopping"
            self.expiries.cancel_all()
            if self.control_url:
                write_state(self.data_dir, self.status())
            await asyncio.gather(*(p.stop(STOP_GRACE_S) for p in self.pods), return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _, proxy in self.links.values():
                await proxy.close()
            if runner is not None:
                await runner.cleanup()
            if session is not None:
                await session.close()
            self.holds.close()
            self.state = "stopped"
            if self.control_url:
                write_state(self.data_dir, {**self.status(), "stop_reason": self.stop_reason})
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retailflow.runtime.supervisor")
    add_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging("runtime", 0, os.environ.get("RF_LOG_LEVEL", "INFO").upper())
    try:
        options = build_options(args)
        import uvloop

        uvloop.install()
        return asyncio.run(Supervisor(options).run())
    except RetailFlowError as exc:
        log.error("supervisor failed", extra={"error": str(exc)})
        print(f"retailflow runtime: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
