"""Static hygiene checks of a Docker Compose document, without a Docker engine.

`problems(document, base_dir)` lists what is wrong, one message per problem naming where it is:
- a service without a healthcheck (absent, `disable: true`, or `test: ["NONE"]`);
- a host path that is absolute (`/...`, `~...`, `$HOME...`, `C:\\...`, `\\\\server\\...`) in a build
  context or dockerfile, a bind-mount source, an `env_file`, a top-level `configs`/`secrets` file,
  an `extends.file`, an `include`, or a local volume's `driver_opts.device`; the message says
  "personal path" for the ones that can only work on one person's machine (`/home/`, `/Users/`,
  a drive letter);
- a personal path anywhere else in the document (command, environment, labels, ...);
- with `base_dir`: a relative host path that does not exist.
"""
import re
from pathlib import Path

PERSONAL = re.compile(r"^[A-Za-z]:\\|^/home/|^/Users/")
PERSONAL_ANYWHERE = re.compile(r"(?:^|[\s=:,\"'(])(?:/home/|/Users/)|(?:^|[\s=,\"'(])[A-Za-z]:\\")
DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def is_absolute_host_path(path: str) -> bool:
    return path.startswith(("/", "~", "$", "\\\\")) or bool(DRIVE.match(path))


def volume_host_part(spec: str) -> str | None:
    """The host side of a short volume spec `SRC:DST[:MODE]`, or None for a bare container path or a
    named volume."""
    if DRIVE.match(spec):
        rest = spec[2:]
        return spec[:2] + rest.split(":", 1)[0] if ":" in rest else None
    parts = spec.split(":")
    if len(parts) < 2:
        return None  # an anonymous volume: a container path only
    source = parts[0]
    is_path = source.startswith((".", "/", "~", "$", "\\\\"))
    return source if is_path else None


class Checker:
    def __init__(self, document: dict, base_dir: Path | None):
        self.doc = document
        self.base_dir = base_dir
        self.found: list[str] = []

    def host_path(self, where: str, path, relative_to: Path | None = None, must_exist: bool = True):
        if not isinstance(path, str) or "://" in path or path.startswith("docker-image:"):
            return  # URLs (git contexts, images) are not host paths
        if is_absolute_host_path(path):
            kind = "personal path" if PERSONAL.match(path) else "absolute host path"
            self.found.append(f"{where}: {kind} {path!r}; use a path relative to the compose file")
        elif self.base_dir is not None and must_exist and not ((relative_to or self.base_dir) / path).exists():
            self.found.append(f"{where}: {path!r} does not exist (relative to {relative_to or self.base_dir})")

    def run(self) -> list[str]:
        services = self.doc.get("services") if isinstance(self.doc, dict) else None
        if not isinstance(services, dict) or not services:
            return ["services: none defined"]
        for name, service in services.items():
            self.service(f"services.{name}", service or {})
        for section in ("configs", "secrets"):
            for name, item in (self.doc.get(section) or {}).items():
                if isinstance(item, dict) and "file" in item:
                    self.host_path(f"{section}.{name}.file", item["file"])
        for name, volume in (self.doc.get("volumes") or {}).items():
            device = ((volume or {}).get("driver_opts") or {}).get("device")
            if device is not None:
                self.host_path(f"volumes.{name}.driver_opts.device", device)
        for i, item in enumerate(self.doc.get("include") or []):
            paths = item.get("path") if isinstance(item, dict) else item
            for path in paths if isinstance(paths, list) else [paths]:
                self.host_path(f"include[{i}]", path)
        self.personal_paths_anywhere("", self.doc)
        return self.found

    def service(self, where: str, service: dict):
        check = service.get("healthcheck")
        if not isinstance(check, dict) or check.get("disable") is True or not check.get("test") \
                or check.get("test") in (["NONE"], "NONE"):
            self.found.append(f"{where}: no healthcheck")
        build = service.get("build")
        if isinstance(build, str):
            self.host_path(f"{where}.build", build)
        elif isinstance(build, dict):
            context = build.get("context", ".")
            self.host_path(f"{where}.build.context", context)
            if "dockerfile" in build:
                context_dir = (self.base_dir / context) if self.base_dir and not is_absolute_host_path(str(context)) else None
                self.host_path(f"{where}.build.dockerfile", build["dockerfile"], relative_to=context_dir,
                               must_exist=context_dir is not None)
            for extra, path in (build.get("additional_contexts") or {}).items():
                self.host_path(f"{where}.build.additional_contexts.{extra}", path)
        for i, volume in enumerate(service.get("volumes") or []):
            if isinstance(volume, str):
                host = volume_host_part(volume)
                if host is not None:
                    self.host_path(f"{where}.volumes[{i}]", host)
            elif isinstance(volume, dict) and volume.get("type", "volume") == "bind":
                self.host_path(f"{where}.volumes[{i}].source", volume.get("source"))
        env_files = service.get("env_file") or []
        for i, item in enumerate(env_files if isinstance(env_files, list) else [env_files]):
            path = item.get("path") if isinstance(item, dict) else item
            required = not (isinstance(item, dict) and item.get("required") is False)
            self.host_path(f"{where}.env_file[{i}]", path, must_exist=required)
        extends = service.get("extends")
        if isinstance(extends, dict) and "file" in extends:
            self.host_path(f"{where}.extends.file", extends["file"])

    def personal_paths_anywhere(self, where: str, node):
        if isinstance(node, dict):
            for key, value in node.items():
                self.personal_paths_anywhere(f"{where}.{key}" if where else str(key), value)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self.personal_paths_anywhere(f"{where}[{i}]", value)
        elif isinstance(node, str) and PERSONAL_ANYWHERE.search(node):
            message = f"{where}: personal path in {node!r}"
            if not any(f.startswith(where) for f in self.found):  # already named by a structural check
                self.found.append(message)


def problems(document: dict, base_dir: Path | None = None) -> list[str]:
    return Checker(document, base_dir).run()
