"""Every command in README.md is executed, as a user would type it.

The test reads the README's code blocks, so it follows the README as it changes:

- every line of a shell block (``bash``, ``sh``, ``shell``, ``console``) is a command;
  ``dynvision ...`` commands run in order in one scratch folder (with copies of
  ``notebooks/`` and ``tutorials/``), so a command can use what an earlier one wrote;
- every ``python`` block runs as a script in a scratch folder.

Heavy commands run with smaller settings, added only where the README does not set them
(:data:`SMALL`): ``dynvision run`` gets ``--set n_images=1 --no-figures`` (``make run``
writes the figures and checks them), ``train`` one epoch of two
batches, ``notebook run`` and ``sweep`` get ``-p fast true``; ``explore`` is started on a
free port, fetched once and stopped. ``make run`` runs for real against the package built as
a wheel and installed in a fresh venv (setup.sh finds it set up), with
``RUN_ARGS="--set n_images=1"``. ``make test`` would run this test again, so its recipe is
checked (``make -n``), its set-up script parsed (``bash -n``) and its pytest command run with
``--collect-only``. A command with no rule here fails the test (nothing is skipped
silently); a command listed in :data:`KNOWN_BROKEN` must still fail, so it is removed once
fixed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wheel_venv import build_installed_venv, mark_set_up

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL = ("bash", "sh", "shell", "console", "zsh")
TIMEOUT = 900

SMALL: dict[str, list[tuple[str, ...]]] = {
    # subcommand: options added when the command does not give them (option, value...)
    "run": [("--set", "n_images=1"), ("--no-figures",)],  # figures: `make run` writes and checks them
    "train": [("--epochs", "1"), ("--limit-batches", "2"), ("--threads", "1"), ("--no-progress",)],
    "notebook": [("-p", "fast", "true")],
    "sweep": [("-p", "fast", "true")],
    "visualize": [("--mei-steps", "2"), ("--starts", "1"), ("--formats", "png")],
}
"""Smaller settings for heavy ``dynvision`` commands (``--epochs`` is replaced, not added)."""

KNOWN_BROKEN: dict[str, str] = {}
"""README commands that fail today, with why; each must still fail (else: remove it here)."""


# ----------------------------------------------------------------------------------------- reading
def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block."""
    return [(m.group(1).lower(), m.group(2)) for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.M | re.S)]


def shell_commands(text: str) -> list[str]:
    """Every command of the shell blocks: continuation lines joined, comments and prompts removed."""
    commands = []
    for language, body in code_blocks(text):
        if language not in SHELL:
            continue
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = line.strip()
            if language == "console":
                if not line.startswith("$ "):
                    continue  # output
                line = line[2:]
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


def python_blocks(text: str) -> list[str]:
    return [body for language, body in code_blocks(text) if language in ("python", "py")]


def with_small_settings(words: list[str]) -> list[str]:
    """``dynvision SUB ...`` with :data:`SMALL` settings added where the command has none."""
    words = list(words)
    for option in SMALL.get(words[1], []):
        flag = option[0]
        if flag == "--set" or flag == "-p":
            key = option[1].partition("=")[0] if flag == "--set" else option[1]
            given = [words[i + 1] for i, w in enumerate(words[:-1]) if w == flag]
            if any((g.partition("=")[0] if flag == "--set" else g) == key for g in given):
                continue
        elif flag in words:
            if flag == "--epochs":  # replace the number of epochs
                words[words.index(flag) + 1] = option[1]
            continue
        words += list(option)
    return words


def rule_for(command: str) -> str:
    """The rule that runs ``command`` (raises for a command without one)."""
    words = shlex.split(command)
    if words[0] == "dynvision":
        return "explore" if len(words) > 1 and words[1] == "explore" else "dynvision"
    if words[0] == "make" and len(words) == 2 and words[1] in ("run", "test"):
        return f"make {words[1]}"
    if words[0] in ("python", "python3"):
        return "python"
    raise AssertionError(f"README command {command!r} has no rule in tests/test_readme.py: add one that runs it "
                         f"(with small settings if it is heavy)")


# ----------------------------------------------------------------------------------------- running
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A scratch folder with the notebooks and a ``dynvision`` on PATH that runs this checkout."""
    work = tmp_path_factory.mktemp("readme")
    for folder in ("notebooks", "tutorials"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    bin_dir = work / "_bin"
    bin_dir.mkdir()
    shim = bin_dir / "dynvision"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dynvision.cli "$@"\n')
    shim.chmod(0o755)
    (work / "_home").mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "HOME": str(work / "_home")}
    env.pop("DYNVISION_DATA", None)
    return work, env


def _run(words: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _explore(words: list[str], cwd: Path, env: dict) -> tuple[int, str]:
    """Start ``dynvision explore``, fetch its page once, stop it; ``(0, '')`` when it served."""
    if "--port" not in words:
        words = [*words, "--port", "0"]
    proc = subprocess.Popen(words, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, url = [], None
    try:
        deadline = time.monotonic() + 300
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            output.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        if url is None:
            return 1, "".join(output)[-2000:]
        html = urllib.request.urlopen(url + "/", timeout=120).read().decode()
        return (0, "") if "bokeh" in html.lower() else (1, f"{url} served no explorer page")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _known(command: str) -> str | None:
    return next((why for prefix, why in KNOWN_BROKEN.items() if command.startswith(prefix)), None)


def _report(failures: list[str]) -> str:
    return "\n\n".join(failures)


# ------------------------------------------------------------------------------------------- tests
def test_the_readme_commands_are_found_and_each_has_a_rule():
    commands = shell_commands(README.read_text())
    assert "make test" in commands and "dynvision run contrast" in commands
    assert any(c.startswith("dynvision train ") for c in commands)
    for command in commands:
        rule_for(command)  # raises for a command nothing here would run
    assert python_blocks(README.read_text())


def test_the_reader_joins_continuations_and_drops_comments_and_output():
    text = ("```bash\ndynvision train --model A \\\n    --epochs 5   # five\n# a comment\n```\n"
            "```console\n$ dynvision list\nmodels: A\n```\n```text\nnot a command\n```\n")
    assert shell_commands(text) == ["dynvision train --model A --epochs 5", "dynvision list"]
    assert with_small_settings(["dynvision", "train", "--epochs", "5"])[:4] == ["dynvision", "train", "--epochs", "1"]
    assert with_small_settings(["dynvision", "run", "x", "--set", "n_images=2"]).count("--set") == 1
    with pytest.raises(AssertionError, match="has no rule"):
        rule_for("pip install dynvision")


@pytest.mark.slow
def test_every_dynvision_command_in_the_readme_runs(workspace):
    work, env = workspace
    failures = []
    for command in shell_commands(README.read_text()):
        if rule_for(command) not in ("dynvision", "explore", "python"):
            continue
        words = shlex.split(command)
        if words[0] in ("python", "python3"):
            words[0] = sys.executable
        if rule_for(command) == "explore":
            code, output = _explore(words, work, env)
        else:
            proc = _run(with_small_settings(words) if words[0] == "dynvision" else words, work, env)
            code, output = proc.returncode, (proc.stderr or proc.stdout)[-3000:]
        why = _known(command)
        if why is not None:
            if code == 0:
                failures.append(f"{command}\n  now works: remove it from KNOWN_BROKEN ({why})")
            continue
        if code != 0:
            failures.append(f"{command}\n  exit {code}:\n{output}")
    assert not failures, _report(failures)


@pytest.mark.slow
def test_every_python_block_in_the_readme_runs(workspace, tmp_path):
    _, env = workspace
    failures = []
    for i, block in enumerate(python_blocks(README.read_text())):
        script = tmp_path / f"block{i}.py"
        script.write_text(block)
        proc = _run([sys.executable, str(script)], tmp_path, env)
        if proc.returncode != 0:
            failures.append(f"python block {i}:\n{block}\n  exit {proc.returncode}:\n{proc.stderr[-3000:]}")
    assert not failures, _report(failures)


@pytest.mark.slow
def test_the_readme_make_commands_run(tmp_path_factory):
    commands = [c for c in shell_commands(README.read_text()) if c.startswith("make ")]
    if not commands:
        return
    venv = build_installed_venv(tmp_path_factory.mktemp("wheel"))
    project = tmp_path_factory.mktemp("project")  # a copy, so `make run` writes results there
    for name in ("Makefile", "pyproject.toml", "constraints.txt", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "scripts", project / "scripts")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DYNVISION_DATA")}
    env["HOME"] = str(project)
    failures = []
    for command in commands:
        target = shlex.split(command)[1]
        if target == "run":
            mark_set_up(venv, "run")
            proc = _run(["make", "run", f"VENV={venv}", "RUN_ARGS=--set n_images=1 --quiet"], project, env)
            ok = proc.returncode == 0 and (project / "results" / "contrast" / "summary.csv").is_file() \
                and any((project / "reports" / "figures" / "contrast").glob("*.png"))
            if not ok:
                failures.append(f"{command}\n  exit {proc.returncode}:\n{(proc.stderr or proc.stdout)[-3000:]}")
        elif target == "test":
            recipe = _run(["make", "-n", "test"], ROOT, env)
            lines = recipe.stdout.splitlines()
            setup = [line for line in lines if "scripts/setup.sh" in line]
            pytest_lines = [line for line in lines if " -m pytest" in line]
            if recipe.returncode != 0 or not setup or not pytest_lines:
                failures.append(f"{command}\n  make -n test printed:\n{recipe.stdout}{recipe.stderr}")
                continue
            syntax = _run(["bash", "-n", "scripts/setup.sh"], ROOT, env)
            words = shlex.split(pytest_lines[-1])
            collect = _run([sys.executable, *words[words.index("-m"):], "--collect-only", "-q", "-p", "no:cacheprovider"],
                           ROOT, {**env, "PYTHONPATH": str(ROOT)})
            if syntax.returncode != 0 or collect.returncode != 0:
                failures.append(f"{command}\n  setup.sh: {syntax.stderr}\n  pytest --collect-only exit "
                                f"{collect.returncode}:\n{collect.stdout[-3000:]}{collect.stderr[-2000:]}")
    assert not failures, _report(failures)
