"""A stand-in for the docker CLI in the end-to-end suite (no Docker engine
runs on our machines). It does what the tasks rely on docker for, against
the emulated registry: `login` remembers the registry (password on stdin),
`build` records the reference, `push` refuses registries it has no login
for, then puts a manifest into ECR as a real push would (the registry's
account comes from the host, `<account>.dkr.ecr.<region>.amazonaws.com`).
Every call is appended to $E2E_DOCKER_LOG.
"""

import hashlib
import json
import os
import sys

import boto3

STATE = os.environ["E2E_DOCKER_LOG"]


def log(line):
    with open(STATE, "a") as f:
        f.write(line + "\n")


def logins():
    if not os.path.exists(STATE):
        return set()
    with open(STATE) as f:
        return {line.split()[-1] for line in f if line.startswith("login ")}


def push(reference):
    registry, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    if registry not in logins():
        print(f"unauthorized: no login for {registry}", file=sys.stderr)
        return 1
    account, region = registry.split(".")[0], registry.split(".")[3]
    config = hashlib.sha256(f"config:{reference}".encode()).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": f"sha256:{config}"},
            "layers": [],
        }
    )
    ecr = boto3.client("ecr", region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                       aws_access_key_id="docker-standin", aws_secret_access_key="docker-standin")
    image = ecr.put_image(registryId=account, repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]
    print(f"{tag}: digest: {image['imageId']['imageDigest']} size: {len(manifest)}")
    return 0


def main(argv):
    log(" ".join(argv))
    command = argv[0] if argv else ""
    if command == "info":
        print("28.2.2 (stand-in)")
        return 0
    if command == "login":
        if not sys.stdin.read().strip():
            print("password required on stdin", file=sys.stderr)
            return 1
        print("Login Succeeded")
        return 0
    if command == "build":
        print("built (stand-in)")
        return 0
    if command == "push":
        return push(argv[1])
    print(f"docker stand-in: unsupported command {command}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
