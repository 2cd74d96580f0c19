"""docs/ci.md: its workflows are valid, its command lines real, its tables those of action.yml.

Each YAML example starts with a comment naming the file it is (``#
.github/workflows/...``, ``# .gitlab-ci.yml``, ``# .pre-commit-config.yaml``).
GitHub workflows are validated against SchemaStore's github-workflow.json
(vendored in tests/data); pre-commit configs with ``pre-commit
validate-config``. GitLab publishes its CI schema only inside its own
source, so the GitLab job is checked for what this page says of it: the
reports it declares are the files its ``fairaudit run`` writes, kept
``when: always``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import jsonschema
import yaml

import fairaudit
from fairaudit.cli import command
from tests.cli_support import COMPAS, COMPAS_ARGS, ROOT, invoke

TEXT = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
WORKFLOW_SCHEMA = json.loads((ROOT / "tests" / "data" / "github-workflow.schema.json")
                             .read_text(encoding="utf-8"))
USES = f"OWNER/fairaudit@v{fairaudit.__version__}"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", TEXT, flags=re.S | re.M)


def _yaml_examples(name: str) -> list[dict]:
    found = []
    for block in _blocks("yaml"):
        first = block.splitlines()[0]
        if first == f"# {name}" or (name.endswith("/") and first.startswith(f"# {name}")):
            doc = yaml.safe_load(block)
            if True in doc:  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
                doc["on"] = doc.pop(True)
            found.append(doc)
    return found


def parse_fairaudit(argv: list[str]) -> None:
    """Fail unless ``fairaudit ARGV`` parses: every command and option exists."""
    assert argv[0] == "fairaudit", argv
    cmd, rest, name = command(), argv[1:], "fairaudit"
    while hasattr(cmd, "commands"):
        assert rest and rest[0] in cmd.commands, f"no command {rest[:1]} under {name}"
        name, cmd, rest = rest[0], cmd.commands[rest[0]], rest[1:]
    cmd.make_context(name, rest)


def test_every_yaml_example_names_its_file():
    firsts = [block.splitlines()[0] for block in _blocks("yaml")]
    assert len(firsts) == 5
    assert all(re.fullmatch(r"# (\.github/workflows/[\w-]+\.yml|\.gitlab-ci\.yml|"
                            r"\.pre-commit-config\.yaml)", f) for f in firsts), firsts


def test_the_github_workflows_are_valid_and_use_the_action_as_it_is():
    workflows = _yaml_examples(".github/workflows/")
    assert len(workflows) == 2
    validator = jsonschema.Draft7Validator(WORKFLOW_SCHEMA)
    scheduled = False
    for wf in workflows:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(wf)]
        assert errors == []
        scheduled |= "schedule" in wf["on"]
        for job in wf["jobs"].values():
            ours = [s for s in job["steps"] if s.get("uses", "").endswith(USES.split("/")[1])]
            assert len(ours) == 1
            step = ours[0]
            assert step["uses"] == USES, "the example uses this release of the action"
            assert set(step.get("with", {})) <= set(ACTION["inputs"])
            # what the action would run: its own flags, then `args`
            extra = shlex.split(step["with"].get("args", ""))
            parse_fairaudit(["fairaudit", "run", "--json", "x.json", "--junit", "x.xml",
                             "--github-summary", "--annotations", "github", *extra])
            for other in job["steps"]:
                if "run" in other:
                    assert "${{" not in other["run"], "outputs reach scripts through env"
                for value in other.get("env", {}).values():
                    for ref in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", value):
                        assert ref[0] == step["id"] and ref[1] in ACTION["outputs"], ref
    assert scheduled, "one of the workflows is the nightly audit"


def test_the_gitlab_job_declares_the_reports_it_writes():
    (pipeline,) = _yaml_examples(".gitlab-ci.yml")
    (job,) = pipeline.values()
    runs = [shlex.split(line) for line in job["script"] if line.startswith("fairaudit ")]
    assert len(runs) == 1
    (argv,) = runs
    parse_fairaudit(argv)
    assert f"fairaudit=={fairaudit.__version__}" in " ".join(job["script"])
    written = {flag: argv[argv.index(flag) + 1] for flag in ("--junit", "--gitlab-codequality")}
    assert job["artifacts"]["reports"] == {"junit": written["--junit"],
                                           "codequality": written["--gitlab-codequality"]}
    assert job["artifacts"]["when"] == "always"


def test_the_pre_commit_configs_are_valid_and_name_the_hook(tmp_path):
    hooks = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    configs = _yaml_examples(".pre-commit-config.yaml")
    assert len(configs) == 2
    for i, config in enumerate(configs):
        (repo,) = config["repos"]
        assert repo["rev"] == f"v{fairaudit.__version__}"
        assert {h["id"] for h in repo["hooks"]} <= hooks
        for hook in repo["hooks"]:
            parse_fairaudit(["fairaudit", "run", "--quiet", "--no-progress",
                             *hook.get("args", [])])
        path = tmp_path / f"config{i}.yaml"
        path.write_text(yaml.safe_dump(config))
        res = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(path)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr


def _table(header: str) -> dict[str, str]:
    rows = re.search(rf"^\| {header} \|.*?\n\|[-|]+\|\n((?:\|.*\|\n)+)", TEXT, flags=re.M)
    assert rows is not None, header
    out = {}
    for line in rows.group(1).splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = cells[1]
    return out


def test_the_tables_list_the_actions_inputs_and_outputs_with_their_defaults():
    inputs = _table("input")
    assert list(inputs) == list(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        if spec.get("default"):
            assert inputs[name] == f"`{spec['default']}`", name
    assert list(_table("output")) == list(ACTION["outputs"])


def test_the_annotation_shown_is_the_real_one(monkeypatch):
    (shown,) = _blocks("text")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--quiet")
    assert shown.strip() in res.stderr.splitlines()


def test_every_link_to_a_local_file_resolves():
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", TEXT):
        assert (ROOT / "docs" / target).exists(), target
