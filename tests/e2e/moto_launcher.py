"""Starts moto in server mode for the end-to-end suite, with the few patches
where moto differs from AWS in ways the suite relies on, and a forwarding
proxy for the hosts nothing resolves.

Usage: python3 moto_launcher.py
Prints one JSON line {"endpoint": ..., "proxy": ...} once both listen, then
serves until killed.

Every patch below says how AWS behaves and where moto 5.2.1 differs. None of
them makes one of our defects pass: each restores AWS's behaviour (or, for an
operation moto lacks, implements it as AWS documents it) so that a mistake of
ours fails here as it would on AWS.
"""

import json
import select
import socket
import sys
import threading
from urllib.parse import unquote

from werkzeug.serving import make_server

from moto.ecr import responses as ecr_responses
from moto.ecr.models import ecr_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import FakeBucket
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker import utils as sm_utils
from moto.sagemaker.exceptions import ConflictException, ResourceNotFound, ValidationError
from moto.sagemakerruntime import models as rt_models
from moto.sagemakerruntime import responses as rt_responses


# --- ECR -------------------------------------------------------------------
# AWS: `registryId` names the account whose registry a call addresses (cross-
# account access is then decided by the repository policy). moto looks every
# call up in the caller's own account, so a call that forgets `registryId`
# and one that passes it behave alike. Route by `registryId` as AWS does.
def _ecr_backend(self):
    registry_id = self._get_param("registryId") or self.current_account
    return ecr_backends[registry_id][self.region]


ecr_responses.ECRResponse.ecr_backend = property(_ecr_backend)


# --- S3 bucket policies ----------------------------------------------------
# AWS evaluates a statement's Condition; moto ignores conditions, so the TLS-
# only statement (Deny when aws:SecureTransport is false) denies every request
# to a bucket that has it (seen in DeleteObjects). Every request the tasks make
# to AWS uses TLS, so on AWS that statement never matches them; the emulator
# is reached over plain HTTP only because it is local. Leave conditioned
# statements out of moto's evaluation.
_original_get_permission = FakeBucket.get_permission


def _get_permission(self, action, resource):
    if self.policy is None:
        return _original_get_permission(self, action, resource)
    policy = json.loads(self.policy.decode())
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    unconditioned = [s for s in statements if "Condition" not in s]
    saved = self.policy
    try:
        self.policy = json.dumps({**policy, "Statement": unconditioned}).encode()
        return _original_get_permission(self, action, resource)
    finally:
        self.policy = saved


FakeBucket.get_permission = _get_permission


# --- SageMaker -------------------------------------------------------------
# AWS answers DescribePipeline (and the other calls naming a pipeline) for a
# missing pipeline with ResourceNotFound; moto with ValidationException.
def _get_pipeline_from_name(pipelines, pipeline_name):
    try:
        return pipelines[pipeline_name]
    except KeyError:
        raise ResourceNotFound(message=f"Pipeline '{pipeline_name}' does not exist.")


sm_utils.get_pipeline_from_name = _get_pipeline_from_name
sm_models.get_pipeline_from_name = _get_pipeline_from_name

# AWS: StartPipelineExecution is idempotent for a ClientRequestToken (the same
# token starts at most one execution). moto starts a new one on every call.
_original_start = sm_models.SageMakerModelBackend.start_pipeline_execution


def _start_pipeline_execution(self, pipeline_name, *args, **kwargs):
    token = kwargs.get("client_request_token") or (args[4] if len(args) > 4 else None)
    pipeline = _get_pipeline_from_name(self.pipelines, pipeline_name)
    if token:
        for arn, execution in pipeline.pipeline_executions.items():
            if getattr(execution, "client_request_token", None) == token:
                return {"PipelineExecutionArn": arn}
    return _original_start(self, pipeline_name, *args, **kwargs)


sm_models.SageMakerModelBackend.start_pipeline_execution = _start_pipeline_execution


# moto lacks ListPipelineExecutionSteps. Its executions run nothing (they
# succeed at once), so the faithful answer is an execution with no steps; a
# missing execution is ResourceNotFound, as on AWS.
def _list_pipeline_execution_steps(self):
    arn = self._get_param("PipelineExecutionArn")
    for pipeline in self.sagemaker_backend.pipelines.values():
        if arn in pipeline.pipeline_executions:
            return json.dumps({"PipelineExecutionSteps": []})
    raise ResourceNotFound(message=f"Pipeline execution '{arn}' does not exist.")


# moto lacks DeleteModelPackage and DeleteModelPackageGroup. AWS deletes a
# version by name or ARN, and refuses (ConflictException) to delete a group
# that still holds versions: delete them first.
def _delete_model_package(self):
    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageName")
    mapped = backend.model_package_name_mapping.get(name, name)
    if mapped not in backend.model_packages:
        raise ValidationError(f"Model package {name} not found")
    del backend.model_packages[mapped]
    for key, value in list(backend.model_package_name_mapping.items()):
        if value == mapped:
            del backend.model_package_name_mapping[key]
    return "{}"


def _delete_model_package_group(self):
    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageGroupName").split("/")[-1]
    if name not in backend.model_package_groups:
        raise ValidationError(f"ModelPackageGroup {name} does not exist.")
    if any(p.model_package_group_name == name for p in backend.model_packages.values()):
        raise ConflictException(f"Model Package Group {name} still contains model packages; delete them first.")
    del backend.model_package_groups[name]
    return "{}"


# AWS: UpdateEndpoint moves an endpoint to another endpoint config; it keeps
# serving the old one until the new one is up, then is InService on the new
# one (a missing endpoint or config is a ValidationException). moto lacks
# UpdateEndpoint; its endpoints are InService at once, so the switch is too.
def _update_endpoint(self):
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = sm_models.FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config_name = self._get_param("EndpointConfigName")
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = sm_models.utcnow()
    return json.dumps({"EndpointArn": endpoint.arn})


sm_responses.SageMakerResponse.update_endpoint = _update_endpoint


# --- SageMaker Runtime -----------------------------------------------------
# AWS: every InvokeEndpoint reaches the container that serves the endpoint
# now, and a missing endpoint is a ValidationError. moto runs no containers:
# it answers any endpoint name from a queue of results (set through
# /moto-api/static/sagemaker/endpoint-results) and caches one answer per
# endpoint and request body, so a second version behind the same endpoint
# would get the first one's answer. Refuse missing endpoints, and take every
# answer fresh from the queue: the test queues what each version's `serve`
# would answer, standing in for the container moto cannot run.
_original_invoke_endpoint = rt_models.SageMakerRuntimeBackend.invoke_endpoint


def _invoke_endpoint(self, endpoint_name, unique_repr):
    endpoints = sm_models.sagemaker_backends[self.account_id][self.region_name].endpoints
    if endpoint_name not in endpoints:
        raise ValidationError(message=f"Endpoint {endpoint_name} of account {self.account_id} not found.")
    self.results.pop(endpoint_name, None)
    return _original_invoke_endpoint(self, endpoint_name, unique_repr)


rt_models.SageMakerRuntimeBackend.invoke_endpoint = _invoke_endpoint

# AWS takes the endpoint name from the path (/endpoints/<name>/invocations);
# moto's server mode leaves that path parameter unset (EndpointName None).
_original_invoke_response = rt_responses.SageMakerRuntimeResponse.invoke_endpoint


def _invoke_endpoint_response(self):
    params = self._get_params()
    if not params.get("EndpointName"):
        name = unquote(self.path.split("/")[2])
        self._get_params = lambda: {**params, "EndpointName": name}
    return _original_invoke_response(self)


rt_responses.SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint_response

sm_responses.SageMakerResponse.list_pipeline_execution_steps = _list_pipeline_execution_steps
sm_responses.SageMakerResponse.delete_model_package = _delete_model_package
sm_responses.SageMakerResponse.delete_model_package_group = _delete_model_package_group


# --- Forwarding proxy ------------------------------------------------------
# Terraform's AWS provider addresses S3 Control at `<account-id>.<endpoint
# host>`, which no resolver here knows. Go sends such requests through
# HTTP_PROXY; this relay passes every connection's bytes to moto unchanged
# (moto accepts absolute-form request lines and routes by path and signature).
def _relay(client, upstream_port):
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    sockets = [client, upstream]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 300)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (upstream if s is client else client).sendall(data)
    except OSError:
        return
    finally:
        client.close()
        upstream.close()


def _serve_proxy(listener, upstream_port):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, upstream_port), daemon=True).start()


def main():
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve_proxy, args=(listener, server.port), daemon=True).start()
    print(
        json.dumps(
            {
                "endpoint": f"http://localhost:{server.port}",
                "proxy": f"http://127.0.0.1:{listener.getsockname()[1]}",
            }
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
