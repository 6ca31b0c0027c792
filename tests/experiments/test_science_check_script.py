"""scripts/science_check.py: one run rewrites the phenomena table, several runs the runs table."""

import importlib.util
from pathlib import Path

import pytest

from dynvision.experiments import phenomena
from dynvision.experiments.phenomena import Check

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "science_check.py"
README = "intro\n<!-- phenomena:start -->\nold\n<!-- phenomena:end -->\n<!-- phenomena-runs:start -->\n" \
         "<!-- phenomena-runs:end -->\nend\n"


@pytest.fixture
def script(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as when run: the script's folder is on the path
    spec = importlib.util.spec_from_file_location("science_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []

    def fake_check(model, compare, n_images):  # what each pair of models holds, without running experiments
        calls.append((model, compare))
        return [Check("early", "m", {}, model == "dyrcnnx4-digits"), Check("adapts", "m", {}, compare is not None)]

    monkeypatch.setattr(phenomena, "check_phenomena", fake_check)
    readme = tmp_path / "README.md"
    readme.write_text(README)
    return module, calls, readme, tmp_path


def test_several_runs_fill_the_runs_table_and_pair_models_in_order(script):
    module, calls, readme, tmp = script
    assert module.main(["--model", "dyrcnnx4-digits,dyrcnnx4-ens-full-s0", "--compare",
                        "dyrcnnx4-digits-self,none", "--labels", "seed 0,seed 1", "--out", str(tmp / "out"),
                        "--readme", str(readme)]) == 0
    assert calls == [("dyrcnnx4-digits", "dyrcnnx4-digits-self"), ("dyrcnnx4-ens-full-s0", None)]
    text = readme.read_text()
    assert "\nold\n" in text  # the single-run table is left alone
    assert "| early | yes | **no** | 1 of 2 |" in text and "| adapts | yes | **no** | 1 of 2 |" in text
    assert (tmp / "out" / "seed_0" / "science_check.json").exists()
    assert (tmp / "out" / "seed_1" / "science_check.json").exists()


def test_one_run_fills_the_phenomena_table(script):
    module, calls, readme, tmp = script
    assert module.main(["--compare", "none", "--out", str(tmp / "out"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "\nold\n" not in text and "Measured on `dyrcnnx4-digits` with 8 images" in text
    assert "1 of 2 hold." in text and "<!-- phenomena-runs:start -->\n<!-- phenomena-runs:end -->" in text


@pytest.mark.parametrize("argv, message", [
    (["--model", "dyrcnnx4-digits,dyrcnnx4-digits", "--compare", "a,b,c"], "--compare names 3 models for the 2"),
    (["--model", "dyrcnnx4-digits,dyrcnnx4-digits-self", "--labels", "s,s"], "--labels needs 2 distinct names"),
    (["--model", "dyrcnnx4-digits,dyrcnnx4-digitz", "--compare", "none"], "'dyrcnnx4-digitz': unknown model"),
])
def test_bad_arguments_are_refused_before_any_run(script, capsys, argv, message):
    module, calls, readme, tmp = script
    with pytest.raises(SystemExit):
        module.main([*argv, "--out", str(tmp / "out")])
    assert message in capsys.readouterr().err
    assert calls == []


def test_a_readme_without_the_markers_is_refused_before_any_run(script, capsys):
    module, calls, readme, tmp = script
    readme.write_text(README.replace("<!-- phenomena-runs:end -->\n", ""))
    with pytest.raises(SystemExit):
        module.main(["--model", "dyrcnnx4-digits,dyrcnnx4-digits-self", "--compare", "none", "--readme", str(readme),
                     "--out", str(tmp / "out")])
    assert "has no <!-- phenomena-runs:start --> ... <!-- phenomena-runs:end --> markers" in capsys.readouterr().err
    assert calls == [] and readme.read_text() == README.replace("<!-- phenomena-runs:end -->\n", "")
