"""JupyterLab as an analyst uses it: open a notebook, change a parameter, run all.

A real ``jupyter lab`` (this environment's) is started on 127.0.0.1 with a random port and
token and temporary Jupyter folders; the project's kernel, "Python (mpsanalysis)", is
installed into a temporary ``JUPYTER_PATH`` so it runs this checkout's package on the
test's data. Headless Chromium (the Debian package, as CI installs it; the launch
conventions of ``tests/test_browser.py``) opens a copy of ``notebooks/08_robbery.ipynb``,
checks the kernel named in the toolbar, types ``Lambeth`` over ``London`` in the
parameters cell, runs Run > Run All Cells and checks that every cell ran without an
error and that the outputs are Lambeth's. A screenshot is saved to
``test-artifacts/jupyterlab-08_robbery.png``.

Run it with ``.venv/bin/python -m pytest tests/test_jupyterlab.py -m browser``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from mpsanalysis import paths

KERNEL_NAME = "mpsanalysis"
KERNEL_DISPLAY = "Python (mpsanalysis)"
NOTEBOOKS = paths.project_root() / "notebooks"
NOTEBOOK = "08_robbery.ipynb"
ARTIFACTS = paths.project_root() / "test-artifacts"
SERVER_START_S = 90  # a cold JupyterLab on a busy 2-core machine takes 5 to 20 s
KERNEL_START_S = 60
RUN_ALL_S = 120  # the robbery notebook runs in a few seconds in a warm kernel
MS = 1000


def _notebook(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_names_the_project_kernel(name):
    """Opened in JupyterLab, every notebook starts the kernel ``make setup`` installs."""
    kernelspec = _notebook(name)["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == KERNEL_NAME, f"{name}: kernelspec {kernelspec}"
    assert kernelspec.get("display_name") == KERNEL_DISPLAY, f"{name}: kernelspec {kernelspec}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _jupyter_lab() -> list[str]:
    """This environment's ``jupyter lab`` (the script beside the interpreter)."""
    script = Path(sys.executable).parent / "jupyter-lab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "jupyterlab"]


def _descendants(pid: int) -> list:
    import psutil  # a dependency of ipykernel

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class Lab:
    """A ``jupyter lab`` server in temporary folders, shut down by :meth:`stop`."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root, self.home = root, home
        self.port = _free_port()
        self.token = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "jupyter-lab.log"
        jupyter_path = home / "share" / "jupyter"
        self.env = {
            **os.environ,
            # the kernel imports this checkout's package and reads the test's data
            "PYTHONPATH": os.pathsep.join(
                [str(paths.project_root()), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "MPSANALYSIS_DATA_DIR": str(paths.data_dir()),
            "JUPYTER_PATH": str(jupyter_path),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        self.env.pop("JUPYTER_PREFER_ENV_PATH", None)
        self.process: subprocess.Popen | None = None
        self.children: list = []

    def install_kernel(self) -> dict:
        """Install the project's kernelspec, as ``make setup`` does, into JUPYTER_PATH."""
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ipykernel",
                "install",
                "--prefix",
                str(self.home),
                "--name",
                KERNEL_NAME,
                "--display-name",
                KERNEL_DISPLAY,
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        listed = subprocess.run(
            [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return json.loads(listed.stdout)["kernelspecs"]

    def start(self) -> None:
        # No "Would you like to receive official Jupyter news?" toast over the notebook.
        settings = Path(self.env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        command = [
            *_jupyter_lab(),
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.api("status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{self.tail()}")

    def api(self, path: str) -> str:
        return f"{self.url}/api/{path}?token={self.token}"

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> list[str]:
        """Shut the server and its kernels down; return any process that outlived it."""
        if self.process is None:
            return []
        self.children = _descendants(self.process.pid)
        if self.process.poll() is None:
            try:
                request = urllib.request.Request(self.api("shutdown"), method="POST")
                urllib.request.urlopen(request, timeout=10).close()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        leaked = []
        for child in self.children:
            try:
                child.wait(timeout=10)
            except Exception:  # still running (psutil.TimeoutExpired) or already reaped
                if child.is_running():
                    leaked.append(" ".join(child.cmdline()))
                    child.kill()
        return leaked


@pytest.fixture(scope="module")
def chromium(chromium_browser):
    return chromium_browser


@pytest.fixture
def lab(tmp_path, real_store):
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy2(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    server = Lab(root, tmp_path / "jupyter")
    kernels = server.install_kernel()
    assert kernels[KERNEL_NAME]["spec"]["display_name"] == KERNEL_DISPLAY
    assert Path(kernels[KERNEL_NAME]["resource_dir"]).is_relative_to(server.home)
    try:
        server.start()
        yield server
    finally:
        leaked = server.stop()
        assert not leaked, f"processes left running after the server stopped: {leaked}"


def _parameters_line(notebook: dict, name: str) -> str:
    first_code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    source = "".join(first_code["source"])
    line = next((ln for ln in source.splitlines() if ln.startswith(f"{name}:")), None)
    assert line is not None, f"no '{name}:' line in the first code cell:\n{source}"
    return line


KERNEL_READY = """() => document.querySelector('.jp-Dialog') !== null
    || Array.from(document.querySelectorAll('.jp-StatusBar-TextItem')).some(
        w => /\\S \\| Idle$/.test(w.textContent.replace(/\\s+/g, ' ').trim()))"""

CELL_STATE = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(
    c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '')"""

PROBLEM_OUTPUTS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).filter(
    o => (o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
          && /Traceback|Error/.test(o.textContent))
         || Array.from(o.classList).some(k => k.toLowerCase().includes('error'))
).map(o => o.textContent.slice(0, 2000))"""


def _wait(page, predicate: str, what: str, seconds: float) -> None:
    """Wait for a JavaScript predicate; on timeout, fail saying what the page shows."""
    try:
        page.wait_for_function(predicate, timeout=seconds * MS)
    except Exception as error:  # playwright's TimeoutError
        shown = page.evaluate(
            "() => ({status: Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))"
            ".map(w => w.textContent.replace(/\\s+/g, ' ').trim()).filter(Boolean),"
            " dialogs: Array.from(document.querySelectorAll('.jp-Dialog'))"
            ".map(d => d.textContent.trim())})"
        )
        pytest.fail(f"{what} not within {seconds} s ({type(error).__name__}); page shows {shown}")


def test_analyst_runs_a_notebook_for_a_borough(chromium, lab):
    """Open, change ``geography`` to Lambeth in the editor, Run All: no errors, Lambeth."""
    old_line = _parameters_line(_notebook(NOTEBOOK), "geography")
    assert '"London"' in old_line, old_line
    new_line = old_line.replace('"London"', '"Lambeth"')

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60 * MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"jupyterlab-{Path(NOTEBOOK).stem}.png"
    try:
        page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?reset&token={lab.token}")
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        notebook.locator(".jp-CodeCell .cm-content").first.wait_for()

        # The kernel the notebook names, started and idle, before anything is typed
        # (a kernel JupyterLab cannot find brings up its "Select Kernel" dialog instead).
        _wait(page, KERNEL_READY, "a started, idle kernel", KERNEL_START_S)
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        assert not dialogs, f"JupyterLab asks: {dialogs}"
        shown = notebook.locator(".jp-Toolbar .jp-KernelName").inner_text().strip()
        assert shown == KERNEL_DISPLAY, f"the toolbar names the kernel {shown!r}"
        status = page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.inner_text()
        assert " ".join(status.split()) == f"{KERNEL_DISPLAY} | Idle", status

        # Type over the geography line in the parameters cell's CodeMirror editor.
        editor = notebook.locator(".jp-CodeCell").first.locator(".cm-content")
        editor.locator(".cm-line", has_text=old_line).click()
        page.keyboard.press("Home")
        page.keyboard.press("Shift+End")
        page.keyboard.insert_text(new_line)
        page.keyboard.press("Escape")  # leave the editor (command mode)
        lines = editor.locator(".cm-line").all_inner_texts()
        assert new_line in lines and old_line not in lines, lines

        # Run > Run All Cells, from the menu bar.
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel").filter(
            has_text=re.compile(r"^Run All Cells$")
        ).click()

        # Finished: every code cell has an execution count and the kernel is idle again.
        _wait(
            page,
            f"() => {{ const p = ({CELL_STATE})();"
            r" return p.length > 0 && p.every(t => /^\[\d+\]:$/.test(t.trim())); }",
            "an execution count in every code cell",
            RUN_ALL_S,
        )
        page.locator(".jp-StatusBar-TextItem", has_text=f"{KERNEL_DISPLAY} | Idle").wait_for()
        prompts = [p.strip() for p in page.evaluate(CELL_STATE)]
        code_cells = sum(c["cell_type"] == "code" for c in _notebook(NOTEBOOK)["cells"])
        assert len(prompts) == code_cells
        assert sorted(int(p[1:-2]) for p in prompts) == list(range(1, code_cells + 1)), prompts

        problems = page.evaluate(PROBLEM_OUTPUTS)
        assert not problems, "\n---\n".join(problems)
        outputs = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
            ".map(o => o.textContent).join('\\n')"
        )
        assert "Lambeth" in outputs, outputs[:2000]
        assert not errors, errors
    finally:
        try:  # the top of the notebook: the header names the borough
            notebook.locator(".jp-Cell").first.scroll_into_view_if_needed(timeout=5 * MS)
        except Exception:  # noqa: BLE001 - the screenshot matters more than the scroll
            pass
        page.screenshot(path=str(screenshot), full_page=True)
        context.close()
