"""Bounce and complaint recognition (issue 17): how many of the notice fixtures each reader gets right.

    .venv/bin/python benchmarks/bounce_recognition.py            # print the table
    .venv/bin/python benchmarks/bounce_recognition.py --readme   # and write it into benchmarks/README.md

Reads every fixture of `mailboxes_app/tests/fixtures/reports.tsv` (RFC 3464 / 5965 / 3834 examples and
notices in the formats of Postfix, Sendmail v5/v8, Exim, qmail, Exchange/Office 365, Gmail, Amazon
SES/WorkMail, Yahoo, DragonFly, OpenSMTPD, Lotus Notes/Domino, au/EZweb, KDDI, m-FILTER) and classifies
each whole message three ways:
1. "before": the classifier as it was before issue 17 (`git show <--before>:mailboxes_app/sync/classify.py`);
2. "own readers": today's classifier with Sisimai switched off (what a machine without libsisimai-perl runs);
3. "with Sisimai": today's classifier, Sisimai reading the whole set in one batch (when installed).
A notice is *recognised* when its kind is right and it names the contact (and only the contact) as the
failed or complaining recipient; *hard/soft* and *reason* are counted among bounces only. It also times
each way (per message, median of 5 rounds), and says whether Debian ships Sisimai's own test emails.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
README = REPO / "benchmarks" / "README.md"
SECTION = "bounce_recognition"
CONTACT = "maria@acme.example"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="5a8d766", help="the commit whose classifier is the baseline")
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from mailboxes_app.sync import bounces, classify
    from mailboxes_app.tests.sync.reports import REPORTS
    from mailboxes_app.tests.sync.test_classify import fixture

    raws = [fixture(report.file) for report in REPORTS]
    before = _old_classifier(args.before)
    modes: dict[str, object] = {
        "before": lambda: [before.message_classify(raw) for raw in raws],
    }
    with_sisimai = bounces.sisimai_available()

    def own() -> list:
        with mock.patch.object(bounces, "sisimai_parse", return_value=None):
            return classify.messages_classify(raws)

    modes["own readers"] = own
    if with_sisimai:
        modes["with Sisimai"] = lambda: classify.messages_classify(raws)
    results, timings = {}, {}
    for name, run in modes.items():
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            results[name] = run()
            rounds.append((time.perf_counter() - started) / len(raws))
        timings[name] = statistics.median(rounds)
    table = _table(REPORTS, results, timings)
    families = _families(REPORTS, results)
    shipped = _sisimai_samples()
    print(table)
    print()
    print(families)
    print()
    print(shipped)
    if args.readme:
        _write_readme(table, families, shipped, args, with_sisimai)


def _old_classifier(commit: str):
    source = subprocess.run(["git", "show", f"{commit}:mailboxes_app/sync/classify.py"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="nudge-classify-"))
    path = folder / "classify_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("classify_before", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["classify_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _judge(report, classified) -> tuple[bool, bool, bool]:
    """(recognised, hard/soft right, reason right)."""
    if classified.kind != report.kind:
        return False, False, False
    if report.kind == "bounce":
        bounce = classified.bounce
        if bounce is None or set(bounce.recipients) != {CONTACT}:
            return False, False, False
        return True, bounce.permanent == report.hard, getattr(bounce, "code", None) == report.code
    if report.kind == "spam_report":
        return set(classified.spam.recipients) == {CONTACT}, True, True
    return True, True, True


def _table(reports, results, timings) -> str:
    lines = ["| reader | bounces recognised | hard/soft right | reason right | complaints recognised "
             "| auto-replies right | ms per message |", "| --- | --- | --- | --- | --- | --- | --- |"]
    bounces = [r for r in reports if r.kind == "bounce"]
    complaints = [r for r in reports if r.kind == "spam_report"]
    replies = [r for r in reports if r.kind == "out_of_office"]
    for name, classified in results.items():
        judged = {r.file: _judge(r, c) for r, c in zip(reports, classified, strict=True)}

        def share(rows, index, judged=judged):
            right = sum(judged[r.file][index] for r in rows)
            return f"{right}/{len(rows)} ({100 * right / len(rows):.0f} %)"

        reason = share(bounces, 2) if name != "before" else "— (no fixed list)"
        lines.append(f"| {name} | {share(bounces, 0)} | {share(bounces, 1)} | {reason} | {share(complaints, 0)} "
                     f"| {share(replies, 0)} | {1000 * timings[name]:.1f} |")
    return "\n".join(lines)


def _families(reports, results) -> str:
    by_family: dict[str, list] = defaultdict(list)
    for index, report in enumerate(reports):
        by_family[report.family].append(index)
    names = list(results)
    lines = ["| family | fixtures | " + " | ".join(f"{n}: recognised" for n in names) + " |",
             "| --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for family, indexes in by_family.items():
        cells = []
        for name in names:
            right = sum(_judge(reports[i], results[name][i])[0] for i in indexes)
            cells.append(f"{right}/{len(indexes)}")
        lines.append(f"| {family} | {len(indexes)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sisimai_samples() -> str:
    listing = subprocess.run(["dpkg", "-L", "libsisimai-perl"], capture_output=True, text=True)
    if listing.returncode != 0:
        return "libsisimai-perl is not installed here."
    samples = [line for line in listing.stdout.splitlines() if re.search(r"\.(eml|mbox)$|set-of-emails", line)]
    if samples:
        return f"Debian's libsisimai-perl ships {len(samples)} sample files."
    return ("Debian's libsisimai-perl ships none of Sisimai's test emails (only the modules and their manual "
            "pages), so the figures are on our own fixtures only.")


def _write_readme(table: str, families: str, shipped: str, args, with_sisimai: bool) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libsisimai-perl"], capture_output=True,
                             text=True).stdout or "not installed"
    section = f"""<!-- bench:{SECTION} -->
## Bounce and complaint recognition (issue 17) — `benchmarks/bounce_recognition.py`

`.venv/bin/python benchmarks/bounce_recognition.py --readme`

Measured {datetime.now(UTC):%Y-%m-%d} on {platform.processor() or platform.machine()}, {os.cpu_count()} cores,
Python {platform.python_version()}, libsisimai-perl {version}, commit {commit.stdout.strip()}; baseline: the
classifier at {args.before}.

Every fixture of `mailboxes_app/tests/fixtures/reports.tsv` — written for this issue from the standards'
examples (RFC 3464, RFC 5965, RFC 3834) and the notice formats each MTA family documents or is known to send —
read whole by each reader. Recognised: the right kind, naming the contact and only the contact. Hard/soft
and reason are counted among the bounces; the reason is one of the fixed list in
`mailboxes_app/sync/bounces.py`. Times are per message, median of 5 rounds (Sisimai's include starting
one perl process for the whole set).

{table}

By family:

{families}

{shipped} The fixtures are ours, so a reader tuned on them scores well on them: they show which families
each reader knows, not a rate on the world's mail.{"" if with_sisimai else " Sisimai was not installed."}
<!-- /bench:{SECTION} -->"""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{SECTION} -->.*?<!-- /bench:{SECTION} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    README.write_text(text)
    print(f"wrote the {SECTION} section of {README}")


if __name__ == "__main__":
    main()
