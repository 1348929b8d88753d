"""Endpoints: an endpoint configuration's variants deployed as `roost serve` processes, and the routing of
InvokeEndpoint to them.

Creating -> InService once every instance answered `/ping` (or Failed with the reason); UpdateEndpoint
moves InService -> Updating, starts the new configuration's instances beside the old ones and swaps them
when all are ready (a failed update rolls back: InService on the old configuration, with the reason);
DeleteEndpoint moves to Deleting, stops the instances and removes the record. An instance that dies is
replaced, at most `max_restarts` times per deployment (each logged), then the endpoint is Failed. After a
restart of the server, endpoints that were serving are deployed again, or Failed with the reason.
"""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from roost.algorithm.job_directory import FAILURE_LIMIT
from roost.errors import UserError
from roost.platform.endpoint_configs import EndpointConfigs
from roost.platform.endpoint_processes import SERVE_COMMAND, Instance, kill_orphan, log_group
from roost.platform.errors import EndpointNotFound, EndpointUnavailable, InvalidRequest
from roost.platform.lifecycle import ENDPOINT, EndpointStatus
from roost.platform.log_streams import LogStreams
from roost.platform.models import Models, container
from roost.platform.resource_requests import RequestShape, ResourceName, not_found, parse
from roost.platform.resource_table import DEFAULT_ACCOUNT, Resource, ResourceTable, account_of, resource_arn
from roost.platform.storage import ChannelFile, Storage
from roost.platform.store import JobQuery, Store
from roost.platform.tags import Tags

DEFAULT_STARTUP_TIMEOUT_S = 600.0
DEFAULT_MAX_RESTARTS = 3
log = logging.getLogger("roost.endpoints")
_S = EndpointStatus


class CreateEndpointRequest(RequestShape):
    EndpointName: ResourceName
    EndpointConfigName: ResourceName


class UpdateEndpointRequest(RequestShape):
    EndpointName: ResourceName
    EndpointConfigName: ResourceName


class DeployFailed(Exception):
    """A deployment that cannot serve; the message becomes the endpoint's FailureReason."""


@dataclass
class Variant:
    name: str
    weight: float
    instances: list[Instance]
    _next: int = 0

    def instance(self) -> Instance | None:
        """The next ready instance, round robin."""
        ready = [i for i in self.instances if i.ready and i.alive and not i.stopping]
        if not ready:
            return None
        self._next += 1
        return ready[self._next % len(ready)]


@dataclass
class Deployment:
    """The running instances of one endpoint configuration."""

    endpoint: str
    account: str
    config_name: str
    root: Path  # the instances' folder, with the model's copy
    variants: list[Variant]
    restarts: int = 0

    def instances(self) -> list[Instance]:
        return [instance for variant in self.variants for instance in variant.instances]

    def pick(self, target_variant: str | None) -> tuple[Variant, Instance]:
        """The variant (TargetVariant, or drawn by weight) and its instance that takes a request."""
        if target_variant is not None:
            chosen = next((v for v in self.variants if v.name == target_variant), None)
            if chosen is None:
                names = ", ".join(v.name for v in self.variants)
                raise EndpointNotFound(
                    f"The variant(s) [{target_variant}] are not valid for endpoint {self.endpoint}; "
                    f"its variants are [{names}]."
                )
        else:
            weighted = [v for v in self.variants if v.weight > 0]
            chosen = random.choices(weighted, weights=[v.weight for v in weighted])[0]
        instance = chosen.instance()
        if instance is None:
            raise EndpointUnavailable(
                f"Variant {chosen.name} of endpoint {self.endpoint} has no instance serving right now "
                "(one is being replaced); try again."
            )
        return chosen, instance

    def stop(self) -> None:
        """Stop every instance and remove their folder (a deployment is never started again)."""
        for instance in self.instances():
            instance.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Endpoints:
    def __init__(
        self,
        store: Store,
        storage: Storage,
        models: Models,
        configs: EndpointConfigs,
        tags: Tags,
        log_streams: LogStreams,
        endpoints_dir: Path,
        *,
        command: Sequence[str] = SERVE_COMMAND,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        poll_s: float = 1.0,
    ) -> None:
        self.table = ResourceTable(store, "endpoints")
        self.tags, self.log_streams = tags, log_streams
        tags.register("endpoint", self.table.has_arn)
        self.storage, self.models, self.configs = storage, models, configs
        self.endpoints_dir = endpoints_dir
        self.command = tuple(command)
        self.max_restarts = max_restarts
        self.startup_timeout_s = startup_timeout_s
        self.poll_s = poll_s
        self._live: dict[str, Deployment] = {}  # by lower-cased name, as names are unique regardless of case
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._workers: list[threading.Thread] = []
        self._supervisor: threading.Thread | None = None

    # -- operations ---------------------------------------------------------------------------------------

    def create(self, raw: Mapping[str, Any], region: str) -> Resource:
        request: CreateEndpointRequest = parse(CreateEndpointRequest, raw, "CreateEndpoint")
        config = self.configs.describe(request.EndpointConfigName, region)
        now = time.time()
        endpoint = Resource(
            name=request.EndpointName,
            arn=resource_arn("endpoint", request.EndpointName, region),
            request=request.model_dump(mode="json", exclude_none=True),
            creation_time=now,
            last_modified_time=now,
            status=str(_S.CREATING),
            state={"config_name": config.name, "config": config.request},
        )
        if not self.table.tagged(self.tags, raw, endpoint):
            raise InvalidRequest(f'Cannot create already existing endpoint "{endpoint.arn}".')
        self._spawn(self._deploy, endpoint.name, config.name, config.request)
        return endpoint

    def describe(self, name: str, region: str) -> Resource:
        endpoint = self.table.get(name)
        if endpoint is None:
            raise not_found("endpoint", resource_arn("endpoint", name, region))
        return endpoint

    def list(self, query: JobQuery) -> list[Resource]:
        return self.table.query(query)

    def update(self, raw: Mapping[str, Any], region: str) -> Resource:
        request: UpdateEndpointRequest = parse(UpdateEndpointRequest, raw, "UpdateEndpoint")
        endpoint = self.describe(request.EndpointName, region)
        config = self.configs.describe(request.EndpointConfigName, region)
        updating = self.table.change(
            endpoint.name, only_from=ENDPOINT.into(_S.UPDATING), status=str(_S.UPDATING), failure_reason=None
        )
        if updating is None:
            raise InvalidRequest(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        self._spawn(self._deploy, endpoint.name, config.name, config.request)
        return updating

    def delete(self, name: str, region: str) -> None:
        endpoint = self.describe(name, region)
        if self.table.change(endpoint.name, only_from=ENDPOINT.into(_S.DELETING), status=str(_S.DELETING)):
            self._spawn(self._remove, endpoint.name)

    def route(self, name: str, target_variant: str | None) -> tuple[Variant, Instance]:
        """Where an InvokeEndpoint request goes; EndpointNotFound unless the endpoint is serving."""
        with self._lock:
            deployment = self._live.get(name.lower())
        if deployment is None:
            stored = self.table.get(name)
            account = account_of(stored.arn) if stored else DEFAULT_ACCOUNT
            raise EndpointNotFound(f"Endpoint {name} of account {account} not found.")
        return deployment.pick(target_variant)

    # -- the platform's lifetime ---------------------------------------------------------------------------

    def recover(self) -> None:
        """Deploy again what a previous server left serving (or half-created); finish interrupted deletes."""
        active = tuple(str(s) for s in (_S.CREATING, _S.IN_SERVICE, _S.UPDATING, _S.DELETING))
        for endpoint in self.table.with_status(active):
            state = endpoint.state or {}
            for pid, start_ticks in state.get("pids", []):
                kill_orphan(pid, start_ticks)
            if endpoint.status == _S.DELETING:
                self._spawn(self._remove, endpoint.name)
            else:  # an interrupted update rolls back to the configuration that was serving
                self._spawn(self._deploy, endpoint.name, state["config_name"], state["config"])

    def start(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, name="roost-endpoints", daemon=True)
        self._supervisor.start()

    def close(self) -> None:
        """Stop every instance; endpoints keep their status, so the next server deploys them again."""
        self._closing.set()
        for thread in [self._supervisor, *self._workers]:
            if thread is not None:
                thread.join()
        with self._lock:
            deployments, self._live = list(self._live.values()), {}
        for deployment in deployments:
            deployment.stop()

    # -- deployments ---------------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"endpoint-{args[0]}", daemon=True)
        self._workers = [t for t in self._workers if t.is_alive()] + [thread]
        thread.start()

    def _fetch_model(self, model: Resource, folder: Path) -> Path:
        url = container(model)["ModelDataUrl"]
        try:
            location = self.storage.resolve(url)
            if isinstance(location, Path) and not location.is_file():
                raise DeployFailed(f"Could not find model data at {url} (model {model.name}).")
            target = folder / "model.tar.gz"
            if isinstance(location, Path):  # a copy: the endpoint outlives changes to the data root
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(location, target)
            else:
                self.storage.fetch(ChannelFile(target.name, location), target)
        except (UserError, OSError, BotoCoreError, ClientError) as error:
            raise DeployFailed(
                f"Could not download model data from {url} (model {model.name}): {error}"
            ) from None
        return target

    def _start_instances(
        self, name: str, account: str, config_name: str, config: dict[str, Any]
    ) -> Deployment:
        root = self.endpoints_dir / name / f"{config_name}-{secrets.token_hex(4)}"
        deployment = Deployment(name, account, config_name, root, [])
        try:
            for spec in config["ProductionVariants"]:
                model = self.models.table.get(spec["ModelName"])
                if model is None:
                    raise DeployFailed(
                        f'Could not find model "{spec["ModelName"]}" of production variant '
                        f"{spec['VariantName']}."
                    )
                model_file = self._fetch_model(model, root / spec["VariantName"])
                instances = [
                    Instance(self.log_streams, name, spec["VariantName"], model_file, self.command)
                    for _ in range(spec.get("InitialInstanceCount", 1))
                ]
                deployment.variants.append(
                    Variant(spec["VariantName"], spec.get("InitialVariantWeight", 1.0), instances)
                )
            self._save_pids(name, extra=deployment)
            for variant, spec in zip(deployment.variants, config["ProductionVariants"], strict=True):
                timeout = spec.get("ContainerStartupHealthCheckTimeoutInSeconds", self.startup_timeout_s)
                for instance in variant.instances:
                    reason = instance.wait_ready(timeout, self._closing)
                    if reason is not None:
                        raise DeployFailed(
                            f"The primary container for production variant {variant.name} did not pass the "
                            f"ping health check: {reason}. See the log stream {instance.stream.name} of "
                            f"{log_group(name)}."
                        )
        except BaseException:
            deployment.stop()
            raise
        return deployment

    def _deploy(self, name: str, config_name: str, config: dict[str, Any]) -> None:
        stored = self.table.get(name)
        if stored is None:
            return
        try:
            deployment = self._start_instances(name, account_of(stored.arn), config_name, config)
        except DeployFailed as failure:
            self._deploy_failed(name, str(failure))
            return
        with self._lock:
            current = self.table.get(name)
            if self._closing.is_set() or current is None or current.status == _S.DELETING:
                deployment.stop()
                return
            previous = self._live.get(name.lower())
            self._live[name.lower()] = deployment
        self.table.change(  # refused if a delete came meanwhile: `_remove` stops this deployment
            name,
            only_from=(str(_S.CREATING), str(_S.UPDATING), str(_S.IN_SERVICE)),
            status=str(_S.IN_SERVICE),
            failure_reason=None,
            state={
                **(current.state or {}),
                "config_name": config_name,
                "config": config,
                "variants": self._summaries(deployment, config),
            },
        )
        self._save_pids(name)
        if previous is not None:
            previous.stop()

    def _deploy_failed(self, name: str, reason: str) -> None:
        log.warning("endpoint %s: %s", name, reason)
        reason = reason[:FAILURE_LIMIT]
        with self._lock:
            serving = name.lower() in self._live
        if self._closing.is_set():
            return  # the next server deploys it again
        if serving:  # a failed update: the previous configuration goes on serving
            self.table.change(
                name, only_from=(str(_S.UPDATING),), status=str(_S.IN_SERVICE), failure_reason=reason
            )
        else:
            self.table.change(
                name, only_from=ENDPOINT.into(_S.FAILED), status=str(_S.FAILED), failure_reason=reason
            )

    def _summaries(self, deployment: Deployment, config: dict[str, Any]) -> list[dict[str, Any]]:
        """DescribeEndpoint's ProductionVariants of a deployment that went into service."""
        now = time.time()
        summaries = []
        for variant, spec in zip(deployment.variants, config["ProductionVariants"], strict=True):
            model = self.models.table.get(spec["ModelName"])
            image = container(model)["Image"] if model else None
            summaries.append(
                {
                    "VariantName": variant.name,
                    **(
                        {
                            "DeployedImages": [
                                {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": now}
                            ]
                        }
                        if image
                        else {}
                    ),
                    "CurrentWeight": variant.weight,
                    "DesiredWeight": variant.weight,
                    "CurrentInstanceCount": len(variant.instances),
                    "DesiredInstanceCount": len(variant.instances),
                }
            )
        return summaries

    def _save_pids(self, name: str, extra: Deployment | None = None) -> None:
        """Record the instances' processes, so that a server that dies does not leave them behind."""
        with self._lock:
            deployments = [d for d in (self._live.get(name.lower()), extra) if d is not None]
        pids = [[i.process.pid, i.start_ticks] for d in deployments for i in d.instances()]
        stored = self.table.get(name)
        if stored is not None:
            self.table.change(
                name,
                state={**(stored.state or {}), "pids": pids},
                last_modified_time=stored.last_modified_time,
            )

    def _remove(self, name: str) -> None:
        with self._lock:
            deployment = self._live.pop(name.lower(), None)
        if deployment is not None:
            deployment.stop()
        self.table.delete(name)
        shutil.rmtree(self.endpoints_dir / name, ignore_errors=True)

    # -- supervision ---------------------------------------------------------------------------------------

    def _supervise(self) -> None:
        while not self._closing.wait(self.poll_s):
            with self._lock:
                deployments = list(self._live.values())
            for deployment in deployments:
                for variant in deployment.variants:
                    for index, instance in enumerate(variant.instances):
                        if instance.ready and not instance.alive and not instance.stopping:
                            self._replace(deployment, variant, index, instance)

    def _replace(self, deployment: Deployment, variant: Variant, index: int, dead: Instance) -> None:
        """Start a new instance in place of one that died, as SageMaker replaces an unhealthy instance."""
        name = deployment.endpoint
        reason = dead.exit_reason()
        while not self._closing.is_set():
            deployment.restarts += 1
            if deployment.restarts > self.max_restarts:
                message = (
                    f"The primary container for production variant {variant.name} stopped serving and was "
                    f"replaced {self.max_restarts} times already: {reason}. See the log group "
                    f"{log_group(name)}."
                )
                dead.log(f"roost: instance {dead.instance_id} {reason}; not replacing it again")
                log.warning("endpoint %s: %s", name, message)
                with self._lock:
                    if self._live.get(name.lower()) is deployment:
                        del self._live[name.lower()]
                deployment.stop()
                self.table.change(
                    name,
                    only_from=ENDPOINT.into(_S.FAILED),
                    status=str(_S.FAILED),
                    failure_reason=message[:FAILURE_LIMIT],
                )
                return
            note = (
                f"roost: instance {dead.instance_id} of variant {variant.name}: {reason}; starting a "
                f"replacement (restart {deployment.restarts} of at most {self.max_restarts})"
            )
            dead.log(note)
            log.warning("endpoint %s: %s", name, note)
            replacement = Instance(self.log_streams, name, variant.name, dead.model_file, self.command)
            variant.instances[index] = replacement
            self._save_pids(name)
            failure = replacement.wait_ready(self.startup_timeout_s, self._closing)
            if failure is None:
                return
            replacement.stop()
            dead, reason = replacement, failure
