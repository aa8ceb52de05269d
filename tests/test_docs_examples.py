"""The code examples in docs/ are run, so they cannot rot.

Every ``.. code-block::`` of every page is checked by its language:

* ``python``: compiles;
* ``json``: parses; ``ini``: parses with configparser;
* ``yaml``: parses when PyYAML is installed, else no tab indentation;
* ``dockerfile``: every instruction is a Dockerfile instruction, the first is FROM
  (or ARG);
* anything else (``console``, ``text``…) is prose.

A Python block with ``:name: example-<kind>-<what>`` is also executed, by kind:

``example-settings-*``
   A settings fragment. Executed as ``myproject/settings.py`` (``os`` and
   ``BASE_DIR`` predefined). ``INSTALLED_APPS`` must hold ``dockerflow.django``;
   ``MIDDLEWARE`` entries must import and ``DockerflowMiddleware`` be first;
   ``LOGGING`` goes through ``logging.config.dictConfig`` in a subprocess and each
   of its loggers must write MozLog JSON; ``BASE_DIR`` must be the project root;
   ``STORAGES`` backends must import; every ``DOCKERFLOW_*`` value must pass its
   validator and the start-up checks, and the heartbeat engine must accept each
   ``DOCKERFLOW_CHECKS`` entry and run it to "ok" here.
``example-urls-*``
   A URLconf. Used as ``ROOT_URLCONF`` without ``DockerflowMiddleware``: the three
   endpoints must answer through it, by path and by ``reverse("dockerflow:…")``.
``example-signals-*``
   Signal receivers. Executed with a recording ``statsd`` module, then a real
   heartbeat run must reach them: passed, then failed.
``example-env-*``
   Configuration from the environment. Executed with ``DJANGO_MY_SETTING`` and
   ``DJANGO_DEBUG`` set when the library it imports is installed, else compiled
   only. ``MY_SETTING`` and ``DEBUG`` must come from the environment.
``example-logging-*``
   A standalone logging setup. Executed in a subprocess; the ``dict`` passed to
   ``dictConfig`` (a name holding a dict with ``"version": 1``) must make each of its
   loggers write MozLog JSON.

A name with another kind fails, so a name is never only decoration. And every
Python block that sets ``DOCKERFLOW_CHECKS``, named or not, must give entries the
heartbeat engine accepts.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import logging
import logging.config
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import checks as django_checks
from django.test import Client, override_settings
from django.urls import clear_url_caches, reverse
from django.utils.module_loading import import_string

from dockerflow.django import heartbeat
from dockerflow.django.conf import DEFAULT_CHECKS, SETTINGS
from dockerflow.django.entries import resolve_entry
from dockerflow.django.signals import heartbeat_failed, heartbeat_passed

from .python_subprocess import mozlog_lines, run_python
from .rst_source import Directive, directives, pages

CODE_DIRECTIVES = ("code-block", "code", "sourcecode")
MIDDLEWARE_PATH = "dockerflow.django.middleware.DockerflowMiddleware"
ENDPOINTS = {
    "version": "/__version__",
    "heartbeat": "/__heartbeat__",
    "lbheartbeat": "/__lbheartbeat__",
}


def code_blocks() -> list[Directive]:
    return [
        block for page in pages() for name in CODE_DIRECTIVES for block in directives(page, name)
    ]


BLOCKS = code_blocks()


def blocks_in(language: str) -> list[Directive]:
    return [block for block in BLOCKS if block.argument.lower() == language]


def source(block: Directive) -> str:
    return "\n".join(block.content) + "\n"


def block_id(block: Directive) -> str:
    return block.options.get("name") or block.where


NAMED = [block for block in BLOCKS if block.options.get("name", "").startswith("example-")]


# --- Every block, by language --------------------------------------------------


@pytest.mark.parametrize("block", blocks_in("python"), ids=block_id)
def test_python_block_compiles(block: Directive) -> None:
    compile(source(block), block.where, "exec")


@pytest.mark.parametrize("block", blocks_in("json"), ids=block_id)
def test_json_block_parses(block: Directive) -> None:
    json.loads(source(block))


@pytest.mark.parametrize("block", blocks_in("ini"), ids=block_id)
def test_ini_block_parses(block: Directive) -> None:
    configparser.ConfigParser(interpolation=None).read_string(source(block), block.where)


@pytest.mark.parametrize("block", blocks_in("yaml"), ids=block_id)
def test_yaml_block_is_well_formed(block: Directive) -> None:
    text = source(block)
    indents = [line[: len(line) - len(line.lstrip())] for line in text.splitlines()]
    assert not any("\t" in indent for indent in indents), f"{block.where}: tab indentation"
    if importlib.util.find_spec("yaml") is not None:
        import yaml

        list(yaml.safe_load_all(text))


DOCKERFILE_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


def dockerfile_instructions(text: str) -> list[str]:
    """The instruction keyword of each logical line (continuations joined, comments dropped)."""
    instructions = []
    continued = False
    for line in text.splitlines():
        stripped = line.strip()
        if not continued and stripped and not stripped.startswith("#"):
            instructions.append(stripped.split()[0])
        if stripped.startswith("#") and continued:
            continue
        continued = stripped.endswith("\\")
    return instructions


@pytest.mark.parametrize("block", blocks_in("dockerfile"), ids=block_id)
def test_dockerfile_block_is_well_formed(block: Directive) -> None:
    instructions = dockerfile_instructions(source(block))
    assert instructions, f"{block.where}: empty Dockerfile"
    assert instructions[0].upper() in {"FROM", "ARG"}, f"{block.where}: must start with FROM"
    unknown = [word for word in instructions if word.upper() not in DOCKERFILE_INSTRUCTIONS]
    assert not unknown, f"{block.where}: not Dockerfile instructions: {unknown}"


def test_dockerfile_reader() -> None:
    text = '# syntax\nFROM python:3.12\nRUN pip install \\\n    dockerflow\nCMD ["x"]\n'
    assert dockerfile_instructions(text) == ["FROM", "RUN", "CMD"]


def test_the_reader_finds_the_examples() -> None:
    """A reader that found nothing would make every test here pass vacuously."""
    names = {block.options["name"] for block in NAMED}
    assert {
        "example-settings-middleware",
        "example-urls-include",
        "example-signals-statsd",
    } <= names


# --- Named examples -------------------------------------------------------------


def test_example_names_are_unique() -> None:
    names = [block.options["name"] for block in NAMED]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("block", NAMED, ids=block_id)
def test_named_example_has_a_runner(block: Directive) -> None:
    assert block.argument.lower() == "python", f"{block.where}: only Python examples are run"
    kind = block.options["name"].split("-")[1]
    assert kind in RUNNERS, (
        f"{block.where}: {block.options['name']!r} names no known kind of example "
        f"(example-<{'|'.join(sorted(RUNNERS))}>-...)"
    )


def run_named(kind: str) -> list[Directive]:
    return [block for block in NAMED if block.options["name"].split("-")[1] == kind]


# settings ---------------------------------------------------------------------


def exec_settings(block: Directive, project: Path) -> dict[str, Any]:
    """Execute a settings fragment as ``project/myproject/settings.py``."""
    settings_file = project / "myproject" / "settings.py"
    namespace: dict[str, Any] = {
        "__file__": str(settings_file),
        "__name__": "myproject.settings",
        "os": os,
        "BASE_DIR": str(project),
    }
    exec(compile(source(block), block.where, "exec"), namespace)
    return {key: value for key, value in namespace.items() if key.isupper()}


def logging_config_writes_mozlog(config: dict[str, Any], where: str, cwd: Path) -> None:
    """Apply ``config`` with dictConfig in a subprocess; each logger must write MozLog.

    On stdout, as Dockerflow asks. ``dockerflow.checks`` covers its child
    ``dockerflow.checks.registry`` (Mozilla's logger for check results) too.
    """
    loggers = sorted(config.get("loggers", {}))
    assert loggers, f"{where}: the LOGGING example configures no logger"
    if "dockerflow.checks" in loggers and "dockerflow.checks.registry" not in loggers:
        loggers = sorted([*loggers, "dockerflow.checks.registry"])
    code = (
        "import json, logging, logging.config, sys\n"
        f"logging.config.dictConfig(json.loads({json.dumps(json.dumps(config))}))\n"
        f"for name in {loggers!r}:\n"
        "    logging.getLogger(name).warning('from %s', name, extra={'probe': 1})\n"
    )
    result = run_python(["-c", code], cwd=cwd)
    assert result.returncode == 0, f"{where}: {result.stderr}"
    assert not mozlog_lines(result.stderr), (
        f'{where}: MozLog lines on stderr; give the handler "stream": "ext://sys.stdout"'
    )
    records = mozlog_lines(result.stdout)
    assert sorted(record["Type"] for record in records) == loggers, (
        f"{where}: expected one MozLog line per logger {loggers}, got:\n"
        f"{result.stdout}{result.stderr}"
    )
    for record in records:
        assert record["Fields"]["msg"] == f"from {record['Type']}"
        assert record["Fields"]["probe"] == 1
        assert record["Severity"] == 4


def check_dockerflow_settings(values: dict[str, Any], where: str, tmp_path: Path) -> None:
    for name, value in values.items():
        assert name in SETTINGS, f"{where}: {name} is not a setting"
        assert SETTINGS[name].validate(value), f"{where}: {name}={value!r} is invalid"
    entries = values.get("DOCKERFLOW_CHECKS", ())
    assert_entries_resolve(entries, where)
    # MEDIA_ROOT: a Storage check writes (and deletes) a file there.
    with override_settings(**values, MEDIA_ROOT=str(tmp_path)):
        messages = django_checks.run_checks(tags=["dockerflow"])
        result = heartbeat.run(use_cache=False) if entries else None
    errors = [m for m in messages if m.level >= django_checks.ERROR]
    assert not errors, f"{where}: start-up checks report {errors}"
    if result is not None:
        assert [check.status for check in result.checks] == ["ok"] * len(entries), (
            f"{where}: the heartbeat engine ran these checks with "
            f"{[(c.name, c.status, c.messages) for c in result.checks]}"
        )


def missing_optional_dependency(entry: Any) -> str | None:
    """The third-party module an entry's import lacks (an extra not installed here)."""
    path = entry[0] if isinstance(entry, tuple) else entry
    if not isinstance(path, str):
        return None
    try:
        import_string(path)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top and top not in {"dockerflow", "health_check", "tests"}:
            return top
    except ImportError:
        pass
    return None


def assert_entries_resolve(entries: Any, where: str) -> None:
    """Each entry is a usable check for the heartbeat engine (what E010-E013 report).

    An entry whose backend needs a package not installed here (a django-health-check
    extra the page tells readers to install) cannot be resolved, and is left out.
    """
    usable = [entry for entry in entries if missing_optional_dependency(entry) is None]
    problems = [check.problem for check in map(resolve_entry, usable) if check.problem]
    assert not problems, f"{where}: DOCKERFLOW_CHECKS entries the engine refuses: {problems}"


def test_an_entry_with_a_missing_extra_is_recognised() -> None:
    assert missing_optional_dependency("not_installed_anywhere.Check") == "not_installed_anywhere"
    assert missing_optional_dependency("health_check.checks.Cache") is None
    assert missing_optional_dependency("dockerflow.django.checks.nothing_here") is None
    with pytest.raises(AssertionError, match="refuses"):
        assert_entries_resolve(["dockerflow.django.checks.nothing_here"], "here")


@pytest.mark.django_db
@pytest.mark.parametrize("block", run_named("settings"), ids=block_id)
def test_settings_example(block: Directive, tmp_path: Path) -> None:
    values = exec_settings(block, tmp_path)
    assert values, f"{block.where}: defines no setting"
    if "INSTALLED_APPS" in values:
        assert "dockerflow.django" in values["INSTALLED_APPS"]
    if "MIDDLEWARE" in values:
        middleware = [m for m in values["MIDDLEWARE"] if isinstance(m, str)]
        for path in middleware:
            import_string(path)
        if MIDDLEWARE_PATH in middleware:
            assert middleware[0] == MIDDLEWARE_PATH, f"{block.where}: not first"
    if "LOGGING" in values:
        logging_config_writes_mozlog(values["LOGGING"], block.where, tmp_path)
    if "BASE_DIR" in values:
        assert Path(values["BASE_DIR"]) == tmp_path
    if "STATIC_ROOT" in values:
        assert Path(values["STATIC_ROOT"]).parent == tmp_path
    for storage in values.get("STORAGES", {}).values():
        import_string(storage["BACKEND"])
    check_dockerflow_settings(
        {k: v for k, v in values.items() if k.startswith("DOCKERFLOW_")}, block.where, tmp_path
    )


ASSIGNS_CHECKS = re.compile(r"^DOCKERFLOW_CHECKS\s*\+?=", re.MULTILINE)


@pytest.mark.parametrize(
    "block",
    [block for block in blocks_in("python") if ASSIGNS_CHECKS.search(source(block))],
    ids=block_id,
)
def test_every_checks_example_resolves(block: Directive, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any block that sets DOCKERFLOW_CHECKS, named or not: the engine accepts each entry.

    ``+=`` fragments start from the default list; the service URLs they read from
    the environment get placeholders (nothing connects here).
    """
    monkeypatch.setenv("AMQP_URL", os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1//"))
    monkeypatch.setenv("REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    namespace: dict[str, Any] = {"os": os, "DOCKERFLOW_CHECKS": list(DEFAULT_CHECKS)}
    exec(compile(source(block), block.where, "exec"), namespace)
    # Aliases are checked against the block's own CACHES/DATABASES, when it has them.
    aliases = {name: namespace[name] for name in ("CACHES", "DATABASES") if name in namespace}
    with override_settings(**aliases):
        assert_entries_resolve(namespace["DOCKERFLOW_CHECKS"], block.where)


# urls -------------------------------------------------------------------------


@pytest.fixture
def urlconf_module() -> Iterator[Callable[[Directive], str]]:
    created: list[str] = []

    def make(block: Directive) -> str:
        name = f"docs_example_urls_{len(created)}"
        module = types.ModuleType(name)
        exec(compile(source(block), block.where, "exec"), module.__dict__)
        sys.modules[name] = module
        created.append(name)
        return name

    yield make
    for name in created:
        sys.modules.pop(name, None)
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.parametrize("block", run_named("urls"), ids=block_id)
def test_urls_example(
    block: Directive, urlconf_module: Callable[[Directive], str], settings: Any
) -> None:
    urlconf = urlconf_module(block)
    without_middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    with override_settings(ROOT_URLCONF=urlconf, MIDDLEWARE=without_middleware):
        client = Client()
        for name, path in ENDPOINTS.items():
            assert reverse(f"dockerflow:{name}") == path
            response = client.get(path)
            assert response.status_code == 200, f"{block.where}: {path} {response.status_code}"


# signals ----------------------------------------------------------------------


class RecordingStatsd:
    """What the examples call: ``statsd.incr(name)``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        self.calls.append(stat)


@pytest.fixture
def fake_statsd(monkeypatch: pytest.MonkeyPatch) -> RecordingStatsd:
    """A ``statsd`` package whose ``statsd.defaults.django.statsd`` records calls."""
    client = RecordingStatsd()
    django_module = types.ModuleType("statsd.defaults.django")
    django_module.statsd = client  # type: ignore[attr-defined]
    for name, module in (
        ("statsd", types.ModuleType("statsd")),
        ("statsd.defaults", types.ModuleType("statsd.defaults")),
        ("statsd.defaults.django", django_module),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    return client


def failing_check(app_configs: Any = None, **kwargs: Any) -> list[django_checks.CheckMessage]:
    """A Django check that always reports an error."""
    return [django_checks.Error("always fails", id="docs.E001")]


@pytest.mark.django_db
@pytest.mark.parametrize("block", run_named("signals"), ids=block_id)
def test_signals_example(block: Directive, fake_statsd: RecordingStatsd, client: Client) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example_signals"}
    exec(compile(source(block), block.where, "exec"), namespace)
    receivers = [value for value in namespace.values() if isinstance(value, types.FunctionType)]
    assert receivers, f"{block.where}: defines no receiver"
    try:
        assert client.get("/__heartbeat__").status_code == 200
        with override_settings(DOCKERFLOW_CHECKS=[f"{__name__}.failing_check"]):
            assert client.get("/__heartbeat__").status_code == 500
    finally:
        for receiver in receivers:
            heartbeat_passed.disconnect(receiver)
            heartbeat_failed.disconnect(receiver)
    assert fake_statsd.calls == ["heartbeat.pass", "heartbeat.fail"]


# environment ------------------------------------------------------------------


def imported_modules(code: str) -> set[str]:
    return set(re.findall(r"^(?:from|import)\s+([\w.]+)", code, re.MULTILINE))


@pytest.mark.parametrize("block", run_named("env"), ids=block_id)
def test_env_example(block: Directive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code = compile(source(block), block.where, "exec")
    missing = [
        name
        for name in imported_modules(source(block))
        if importlib.util.find_spec(name.split(".")[0]) is None
    ]
    if missing:
        return  # compiled above; the library it shows is not installed here
    monkeypatch.setenv("DJANGO_MY_SETTING", "from the environment")
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    namespace: dict[str, Any] = {"__name__": "docs_example_env"}
    exec(code, namespace)
    if "MY_SETTING" in namespace:
        assert namespace["MY_SETTING"] == "from the environment"
    if "DEBUG" in namespace:
        assert namespace["DEBUG"] is True


# standalone logging -----------------------------------------------------------


@pytest.mark.parametrize("block", run_named("logging"), ids=block_id)
def test_logging_example(block: Directive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = source(block)
    # As written, in a process of its own: it runs, and whatever it logs is MozLog.
    result = run_python(["-c", code], cwd=tmp_path)
    assert result.returncode == 0, f"{block.where}: {result.stderr}"
    mozlog_lines(result.stdout + result.stderr)
    # Then find its configuration without applying it to this process.
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    namespace: dict[str, Any] = {"__name__": "docs_example_logging"}
    exec(compile(code, block.where, "exec"), namespace)
    configs = [v for v in namespace.values() if isinstance(v, dict) and v.get("version") == 1]
    assert len(configs) == 1, f"{block.where}: expected one logging dict, found {len(configs)}"
    logging_config_writes_mozlog(configs[0], block.where, tmp_path)


# --- Claims the pages make about other tools ------------------------------------


def test_gunicorn_binds_port_from_the_environment(tmp_path: Path) -> None:
    """django.rst, PORT: gunicorn needs no option to bind 0.0.0.0:$PORT."""
    code = "from gunicorn.config import Config; print(Config().bind)"
    result = run_python(["-c", code], cwd=tmp_path, env={"PORT": "8123"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['0.0.0.0:8123']"


UVICORN_DEFAULTS = (
    "from uvicorn.main import main\n"
    "context = main.make_context('uvicorn', ['myproject.asgi:application'])\n"
    "print(context.params['host'], context.params['port'])\n"
)


def test_uvicorn_ignores_port_and_binds_loopback(tmp_path: Path) -> None:
    """django.rst, PORT: uvicorn needs --host and --port (or UVICORN_HOST/PORT)."""
    result = run_python(["-c", UVICORN_DEFAULTS], cwd=tmp_path, env={"PORT": "8123"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.1", "8000"]
    result = run_python(
        ["-c", UVICORN_DEFAULTS],
        cwd=tmp_path,
        env={"UVICORN_HOST": "0.0.0.0", "UVICORN_PORT": "8123"},
    )
    assert result.stdout.split() == ["0.0.0.0", "8123"]


def test_read_the_docs_builds_with_warnings_as_errors() -> None:
    config = (Path(__file__).resolve().parent.parent / ".readthedocs.yaml").read_text()
    assert re.search(r"^  configuration: docs/conf.py$", config, re.MULTILINE)
    assert re.search(r"^  fail_on_warning: true$", config, re.MULTILINE)


RUNNERS = {
    "settings": test_settings_example,
    "urls": test_urls_example,
    "signals": test_signals_example,
    "env": test_env_example,
    "logging": test_logging_example,
}
