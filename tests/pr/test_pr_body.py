"""The markdown the bot writes: structure, language, and escaping of untrusted text."""

from __future__ import annotations

import re

import pytest

from dlgen.delivery.pr import body
from dlgen.validators.report import CheckResult
from tests.factories import make_spec
from tests.pr.conftest import failing_report, passing_report

HOSTILE = (
    "ViT please $(touch pwned) `rm -rf /` ; echo $HOME | cat\n"
    "```\n"
    "</details><script>alert(1)</script> <img src=x onerror=alert(2)>\n"
    "````` still inside\n"
    "@octocat @org/team please review [link](javascript:alert(3)) <!-- dlgen-bot -->\n"
)
FILES = ["README.md", "src/tiny_vit/__init__.py", "src/tiny_vit/models/vit.py", "train.py"]


def _ctx(language: str = "en", request: str = HOSTILE, ok: bool = True) -> body.BodyContext:
    spec = make_spec(
        language=language,
        request=request,
        assumptions=["patch size 8 <assumed> by @someone | x", "dataset: CIFAR-10"],
    )
    report = passing_report() if ok else failing_report()
    return body.BodyContext(spec, request, "projects/tiny_vit", FILES, report, issue=12)


def _fenced_blocks(markdown: str) -> list[tuple[int, str]]:
    """(fence length, content) of each fenced block, parsed like CommonMark does."""
    blocks, lines, index = [], markdown.split("\n"), 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})[^`]*$", lines[index])
        if not opening:
            index += 1
            continue
        ticks, content, index = len(opening.group(1)), [], index + 1
        while index < len(lines) and not re.fullmatch(rf"`{{{ticks},}}\s*", lines[index]):
            content.append(lines[index])
            index += 1
        blocks.append((ticks, "\n".join(content)))
        index += 1
    return blocks


def _outside_fences(markdown: str) -> str:
    text = markdown
    for ticks, content in _fenced_blocks(markdown):
        text = text.replace(content, "", 1)
        del ticks
    return text


def test_hostile_request_stays_inside_one_fence() -> None:
    markdown = body.pull_request_body(_ctx())
    blocks = _fenced_blocks(markdown)
    assert any(content == HOSTILE.strip("\n") or content == HOSTILE for _, content in blocks)
    ticks = next(t for t, c in blocks if "touch pwned" in c)
    assert ticks == 6  # longer than the five-backtick run in the text
    outside = _outside_fences(markdown)
    for raw in ("<script>", "<img", "@octocat", "javascript:alert", "$(touch"):
        assert raw not in outside
    assert outside.count(body.MARKER) == 1 and markdown.startswith(body.MARKER)


def test_escape_inline_neutralises_html_markdown_and_mentions() -> None:
    escaped = body.escape_inline("<b>x</b> | *y* @bob `z`\nnext [a](b)")
    assert "<" not in escaped and "&lt;b&gt;" in escaped
    assert "\\|" in escaped and "\\*y\\*" in escaped and "\\`z\\`" in escaped
    assert "@\u200dbob" in escaped and "@bob" not in escaped
    assert "\n" not in escaped and "\\[a\\]" in escaped


def test_code_span_and_fence_cannot_be_closed_early() -> None:
    assert body.code_span("a``b") == "```a``b```"
    assert body.code_span("`x`") == "`` `x` ``"
    assert body.code_span("a|b") == "`a\\|b`"
    assert body.fence("no ticks").startswith("```text\n")
    assert body.fence("````").startswith("`````text\n")


def test_pull_request_body_holds_spec_assumptions_tree_and_report() -> None:
    markdown = body.pull_request_body(_ctx())
    for heading in ("### Request", "### Spec", "### Assumptions", "### Files", "### Validation"):
        assert heading in markdown
    assert "| Name | `tiny_vit` |" in markdown
    assert "| Directory | `projects/tiny_vit/` |" in markdown
    assert "patch size 8 &lt;assumed&gt; by @\u200dsomeone \\| x" in markdown
    assert "| style | ✅ passed | 1.2 s | 0 |" in markdown
    assert "| gpu | ⏭️ skipped | 0.0 s | 0 |" in markdown
    assert "✅ Validation passed: 2 of 3 checks passed, 1 skipped" in markdown
    assert "└── train.py" in markdown and "│   └── tiny_vit/" in markdown
    assert markdown.rstrip().endswith("Refs #12")


def test_failure_comment_lists_findings_in_chinese() -> None:
    markdown = body.failure_comment(_ctx(language="zh", request="实现ViT", ok=False))
    assert "### dlgen：`tiny_vit` 未通过验证" in markdown
    assert "| smoke | ❌ 失败 | 2.5 s | 2 |" in markdown
    assert "- `DLG201` `train.py:3` error: loss is NaN" in markdown
    assert "- `DLG202` `<project>` error: backward failed (check shapes)" in markdown
    assert "没有创建拉取请求" in markdown


def test_a_check_that_could_not_run_shows_its_detail() -> None:
    ctx = _ctx(ok=False)
    assert ctx.report is not None
    ctx.report.checks.append(
        CheckResult(name="smoke", status="error", detail="child crashed:\n<b>@bob</b>")
    )
    text = body.first_findings(ctx, ctx.report)
    assert "- `smoke` error: child crashed: &lt;b&gt;@\u200dbob&lt;/b&gt;" in text


def test_findings_are_capped() -> None:
    ctx = _ctx(ok=False)
    assert ctx.report is not None
    check = ctx.report.checks[1]
    check.findings = check.findings * 8
    text = body.first_findings(ctx, ctx.report)
    assert text.count("\n- ") == body.MAX_FINDINGS_SHOWN
    assert "... and 6 more." in text


@pytest.mark.parametrize("language", ["en", "zh"])
def test_commit_message_is_english_and_from_spec_values_only(language: str) -> None:
    spec = make_spec(language=language, request="实现ViT $(touch pwned) @bob")
    message = body.commit_message(spec, 12, passing_report())
    assert message.isascii()
    assert message.startswith("dlgen: add tiny_vit (Vision Transformer, image_classification")
    assert "pwned" not in message and "@bob" not in message
    assert "issue #12" in message


def test_title_is_in_the_users_language() -> None:
    assert body.pull_request_title(make_spec(language="zh")).startswith("dlgen：新增 tiny_vit（")
    assert body.pull_request_title(make_spec()).startswith("dlgen: add tiny_vit (")


def test_long_request_and_tree_are_shortened() -> None:
    ctx = _ctx(request="x" * 10_000)
    ctx.files = [f"f{i:04d}.py" for i in range(1000)]
    markdown = body.pull_request_body(ctx)
    assert "[...]" in markdown and len(markdown) < 30_000
    assert "... 751 more" in markdown
