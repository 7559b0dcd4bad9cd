"""The README's set-up lines: the ones a user on a stock machine copies."""

from tests.data_support import REPO


def _setup_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Set-up") : text.index("## Command line")]
    return section.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()


def test_the_cpu_line_takes_the_cpu_build_from_pytorchs_index():
    # Plain `pip install torch==2.13.0` gets the CUDA build on a stock machine (a local pip config
    # hid that on ours); the CPU line must name PyTorch's CPU index.
    cpu, gpu, tests = _setup_block()
    assert cpu.startswith("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && ")
    assert cpu.endswith("# CPU only") and "semanir restore examples/astronaut_noisy.png" in cpu
    assert gpu.startswith('pip install "torch>=2.3,<2.14" && ') and gpu.endswith("# GPU (CUDA build)")
    # The GPU line's range is the package's own: pip must not swap the torch it just installed.
    assert '"torch>=2.3,<2.14"' in (REPO / "pyproject.toml").read_text()
    assert tests == "python -m pytest -n 2"
    # CI's machine installs the local CPU wheel and cannot reach PyTorch's index: .ci/run stays as is.
    assert "pip install --quiet torch==2.13.0\n" in (REPO / ".ci" / "run").read_text()


def _shown_commands() -> list[str]:
    """Every `semanir ...` line of the README's bash blocks, comments and `[optional]` parts removed."""
    import re

    text = (REPO / "README.md").read_text()
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
    commands = []
    for line in lines:
        for part in line.split("&&"):
            part = re.sub(r"\s+#.*$", "", part).strip()
            if part.startswith("semanir "):
                commands.append(re.sub(r"\s*\[[^\]]*\]", "", part))
    return commands


def test_every_command_the_readme_shows_parses_with_todays_cli():
    # The examples that restore for real run in tests/test_pretrained.py and .ci/run; here every line
    # shown must at least name a command and options that exist, so the README cannot drift from the CLI.
    import shlex

    from semanir.cli import _parse, build_parser

    commands = _shown_commands()
    assert len(commands) >= 9 and any(c.startswith("semanir serve") for c in commands)
    for command in commands:
        _parse(build_parser(), shlex.split(command)[1:])
