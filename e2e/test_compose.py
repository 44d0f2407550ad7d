"""docker-compose.yml, Dockerfile and .dockerignore checked as files (no Docker engine runs here):
every service has a healthcheck, every host path is relative and exists, the image is built from
the Dockerfile in stages and runs as a user, and the gateway's compose configuration keeps the
root routes.yaml's routes. The checker itself is tested on crafted bad documents."""
import re

import pytest
import yaml

from compose_check import problems
from conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_ROUTES = ROOT / "compose" / "routes.yaml"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_has_no_hygiene_problems(compose):
    assert problems(compose, ROOT) == []


def test_services_are_gateway_idp_and_stubs_each_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == {"gateway", "idp", "stubs"}
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_service_runs_the_image_built_from_the_dockerfile(compose):
    for name, service in compose["services"].items():
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert service["image"] == "portcullis:dev", name


def test_the_gateway_waits_for_a_healthy_issuer_and_stubs(compose):
    depends = compose["services"]["gateway"]["depends_on"]
    assert depends == {"idp": {"condition": "service_healthy"}, "stubs": {"condition": "service_healthy"}}


def test_published_ports_are_on_the_hosts_loopback(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_compose_routes_keep_the_root_routes_only_addresses_differ():
    root = yaml.safe_load((ROOT / "routes.yaml").read_text())
    composed = yaml.safe_load(COMPOSE_ROUTES.read_text())

    def without_addresses(config):
        routes = []
        for route in config["routes"]:
            route = dict(route)
            route["upstream"] = dict(route["upstream"])
            route["upstream"]["urls"] = [re.sub(r"//[^:/]+:", "//HOST:", u) for u in route["upstream"]["urls"]]
            routes.append(route)
        return routes

    assert without_addresses(composed) == without_addresses(root)
    assert composed["policy"] | {"directory": None} == root["policy"] | {"directory": None}
    assert composed["identity_headers"] == root["identity_headers"]
    assert composed["limits"] == root["limits"]
    assert composed["issuers"][0]["issuer"] == root["issuers"][0]["issuer"]
    assert (COMPOSE_ROUTES.parent / composed["policy"]["directory"]).resolve() == (ROOT / root["policy"]["directory"]).resolve()


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_compose_addresses_agree_between_the_services():
    """The gateway trusts the issuer the idp names in its tokens, fetches keys from the idp service,
    and sends each route to the stubs service's port for it."""
    import json
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    routes = yaml.safe_load(COMPOSE_ROUTES.read_text())
    realm = json.loads((ROOT / option(services["idp"]["command"], "--realm")).read_text())["realm"]
    issuer = routes["issuers"][0]
    assert issuer["issuer"] == f"{option(services['idp']['command'], '--public-url')}/realms/{realm}"
    idp_port = option(services["idp"]["command"], "--listen").rsplit(":", 1)[1]
    assert issuer["jwks_uri"] == f"http://idp:{idp_port}/realms/{realm}/protocol/openid-connect/certs"
    base = int(option(services["stubs"]["command"], "--base-port"))
    ports = {int(url.rsplit(":", 1)[1]) for route in routes["routes"] for url in route["upstream"]["urls"]}
    assert all(url.startswith("http://stubs:") for route in routes["routes"] for url in route["upstream"]["urls"])
    assert ports <= set(range(base, base + 7))
    assert routes["listen"].endswith(":8080") and routes["admin"]["listen"].endswith(":9901")


def test_compose_routes_pass_the_gateways_own_config_check(cli):
    status, out, err = cli.run("config", "check", str(COMPOSE_ROUTES))
    assert status == 0, f"{out}{err}"


def dockerfile_stages():
    stages = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if re.match(r"^FROM\s", line, re.I):
            stages.append([line])
        elif stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_builds_with_swift_6_and_runs_slim_as_a_non_root_user():
    text = (ROOT / "Dockerfile").read_text()
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert re.match(r"FROM swift:\$\{SWIFT_VERSION\}-\S+ AS build", stages[0][0])
    assert re.search(r"^ARG SWIFT_VERSION=6\.\d+$", text, re.M)
    runtime = "\n".join(stages[-1])
    assert "swift:" not in stages[-1][0], "the runtime stage carries no toolchain"
    assert "COPY --from=build" in runtime
    for package in ("libssl3", "git", "ca-certificates"):
        assert re.search(rf"\b{package}\b", runtime), package
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert not re.search(r"/home/|/Users/|[A-Za-z]:\\", text)


def test_dockerignore_keeps_build_products_and_git_out_of_the_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".build", ".git", ".swiftpm"} <= ignored
    for needed in ("Package.swift", "Sources", "realms", "rego-lite", "routes.yaml", "compose"):
        assert needed not in ignored, needed


# --- the checker flags what it must (negative self-tests) ---------------------------------------

GOOD_SERVICE = {"image": "x", "healthcheck": {"test": ["CMD", "true"]}}


def with_service(**fields):
    return {"services": {"app": {**GOOD_SERVICE, **fields}}}


BAD_DOCUMENTS = {
    "no_healthcheck": ({"services": {"app": {"image": "x"}}}, "services.app: no healthcheck"),
    "healthcheck_disabled": (with_service(healthcheck={"disable": True}), "services.app: no healthcheck"),
    "healthcheck_none": (with_service(healthcheck={"test": ["NONE"]}), "services.app: no healthcheck"),
    "volume_in_home": (with_service(volumes=["/home/alice/data:/data"]), "services.app.volumes[0]: personal path '/home/alice/data'"),
    "volume_in_users": (with_service(volumes=["/Users/bob/src:/src:ro"]), "services.app.volumes[0]: personal path '/Users/bob/src'"),
    "volume_on_a_drive": (with_service(volumes=["C:\\work\\data:/data"]), "services.app.volumes[0]: personal path 'C:\\\\work\\\\data'"),
    "long_volume_source": (with_service(volumes=[{"type": "bind", "source": "/home/alice/x", "target": "/x"}]),
                           "services.app.volumes[0].source: personal path"),
    "other_absolute_bind": (with_service(volumes=["/srv/data:/data"]), "services.app.volumes[0]: absolute host path '/srv/data'"),
    "home_variable": (with_service(volumes=["${HOME}/x:/x"]), "services.app.volumes[0]: absolute host path"),
    "build_context": (with_service(build={"context": "C:\\src\\app"}), "services.app.build.context: personal path"),
    "build_string": (with_service(build="/Users/bob/app"), "services.app.build: personal path"),
    "dockerfile": (with_service(build={"context": ".", "dockerfile": "/home/alice/Dockerfile"}), "services.app.build.dockerfile: personal path"),
    "env_file": (with_service(env_file="/home/alice/.env"), "services.app.env_file[0]: personal path"),
    "env_file_list": (with_service(env_file=[{"path": "/Users/bob/.env"}]), "services.app.env_file[0]: personal path"),
    "extends": (with_service(extends={"file": "/home/alice/base.yml", "service": "b"}), "services.app.extends.file: personal path"),
    "config_file": ({"services": {"app": GOOD_SERVICE}, "configs": {"c": {"file": "/Users/bob/c.yml"}}}, "configs.c.file: personal path"),
    "secret_file": ({"services": {"app": GOOD_SERVICE}, "secrets": {"s": {"file": "C:\\secrets\\s"}}}, "secrets.s.file: personal path"),
    "volume_device": ({"services": {"app": GOOD_SERVICE},
                       "volumes": {"v": {"driver_opts": {"type": "none", "o": "bind", "device": "/home/alice/v"}}}},
                      "volumes.v.driver_opts.device: personal path"),
    "include": ({"services": {"app": GOOD_SERVICE}, "include": ["/Users/bob/other.yml"]}, "include[0]: personal path"),
    "command_argument": (with_service(command=["serve", "--config", "/home/alice/routes.yaml"]), "services.app.command[2]: personal path"),
    "environment_value": (with_service(environment={"CONFIG": "/Users/bob/c.yml"}), "services.app.environment.CONFIG: personal path"),
    "missing_relative_file": (with_service(volumes=["./no-such-dir:/x"]), "services.app.volumes[0]: './no-such-dir' does not exist"),
    "no_services": ({"services": {}}, "services: none defined"),
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_checker_flags_a_crafted_bad_document(name, tmp_path):
    document, expected = BAD_DOCUMENTS[name]
    found = problems(document, tmp_path)
    assert any(message.startswith(expected) for message in found), found


@pytest.mark.parametrize("document", [
    with_service(),
    with_service(volumes=["data:/var/lib/data", "/container/only", "./here:/x:ro"],
                 build={"context": ".", "dockerfile": "Dockerfile"}, env_file=[{"path": "./absent.env", "required": False}]),
    with_service(build="https://github.com/example/app.git#main"),
])
def test_checker_accepts_relative_paths_named_volumes_and_urls(document, tmp_path):
    (tmp_path / "here").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert problems(document, tmp_path) == []
