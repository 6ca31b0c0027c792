"""Warnings as errors for chosen packages, installed inside a notebook kernel.

``run_notebook(..., warnings_as_errors=["dynvision"])`` starts the kernel with the policy below:
from then on a warning issued while code of one of those packages is on the call stack
(``warnings.warn`` called by it, or by a library it called) raises in the cell instead of
printing, so the run fails with the warning's message and the cell that caused it. Warnings
that involve none of those packages keep their normal behaviour (printed on stderr, where the
run's record shows them). Python's warning filters still apply first: a warning that a filter
ignores never reaches this check. Only the thread that runs the cells raises; a warning from
another thread (a writer thread, a progress monitor) is printed as usual, since raising there
would end that thread silently.

The policy is plain Python source handed to the kernel on its command line
(:func:`kernel_arguments`), so it works in any Python kernel, one without dynvision included,
and cannot be switched off silently by a failed import.

Example:
    >>> from dynvision.notebooks import strict
    >>> strict.install(["dynvision"])
    >>> strict.uninstall()
"""

from __future__ import annotations

from typing import Iterable

POLICY = '''
import sys, threading, warnings

def involved(frame, prefixes):
    """The first module of `prefixes` on the stack from `frame` outward, or None."""
    while frame is not None:
        name = frame.f_globals.get("__name__", "") or ""
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return name
        frame = frame.f_back
    return None

def install(prefixes):
    original = getattr(warnings.showwarning, "dynvision_original", warnings.showwarning)
    main = threading.main_thread()

    def showwarning(message, category, filename, lineno, file=None, line=None):
        module = involved(sys._getframe(1), prefixes)
        if module is None or threading.current_thread() is not main:
            return original(message, category, filename, lineno, file, line)
        error = message if isinstance(message, Warning) else category(str(message))
        if hasattr(error, "add_note"):
            error.add_note(f"raised as an error: a {category.__name__} issued at {filename}:{lineno} "
                           f"while {module} was running (warnings_as_errors)")
        raise error

    showwarning.dynvision_original = original
    warnings.showwarning = showwarning

def uninstall():
    warnings.showwarning = getattr(warnings.showwarning, "dynvision_original", warnings.showwarning)
'''

_namespace: dict = {"__name__": "dynvision_strict_policy"}
exec(compile(POLICY, "<dynvision warnings_as_errors>", "exec"), _namespace)  # noqa: S102 - our own source
involved = _namespace["involved"]


def install(packages: Iterable[str]) -> None:
    """Make warnings involving ``packages`` (top-level module names) raise in this process's main thread."""
    _namespace["install"](tuple(str(p) for p in packages))


def uninstall() -> None:
    """Restore the warning behaviour from before :func:`install`."""
    _namespace["uninstall"]()


def installed() -> bool:
    """Whether the policy is active in this process."""
    import warnings

    return hasattr(warnings.showwarning, "dynvision_original")


def kernel_arguments(packages: Iterable[str]) -> list[str]:
    """Command-line arguments that make an IPython kernel start with the policy for ``packages``.

    Example:
        >>> kernel_arguments(["dynvision"])[0].startswith("--IPKernelApp.exec_lines=exec(")
        True
    """
    prefixes = tuple(str(p) for p in packages)
    if not prefixes:
        return []
    code = POLICY + f"install({prefixes!r})\n"
    line = f"exec(compile({code!r}, '<dynvision warnings_as_errors>', 'exec'), {{'__name__': 'dynvision_strict_policy'}})"
    return [f"--IPKernelApp.exec_lines={line}"]  # repr() keeps it on one line
