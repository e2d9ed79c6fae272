"""`ioguide draft`, `coverage` (table, wording import, exports), `assess`, `action`, `readiness`, `casereview`.

Registered on the root command by ioguide/cli/__init__.py: `register(app)`."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

from ..config import Settings
from ..errors import IOGuideError
from .common import fail, user_name

coverage_app = typer.Typer(no_args_is_help=False, help="IASIOS coverage: which requirements the centre's "
                                                        "documents support; import wording; export the application.")


def _fail(exc: Exception, code: int = 2) -> None:
    fail(exc, code)


def _user(author: str | None) -> str:
    return author or user_name()


def _open(settings: Settings):
    from .. import accreditation as acc

    store = acc.AccreditationStore(settings.db_path)
    standards = acc.load_standards()
    return acc, standards, store, acc.requirement_list(standards, store)


def _audit(settings: Settings, action: str, detail: dict, user: str) -> None:
    from ..storage import LocalDB

    LocalDB(settings.db_path).audit(action, detail, user=user)


def draft_cmd(
    requirement_id: str = typer.Argument(..., help="Requirement id, e.g. S8.a."),
    as_json: bool = typer.Option(False, "--json", help="Print the draft as one JSON object."),
    force: bool = typer.Option(False, "--force", help="Draft anew even over a staff edit (the edit stays in the "
                                                      "history)."),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    author: str | None = typer.Option(None, "--author", help="Recorded as the draft's author (default: login)."),
    k: int = typer.Option(5, "-k", min=1, max=20, help="Passages to retrieve from each collection."),
    history: bool = typer.Option(False, "--history", help="List the stored versions instead of drafting."),
) -> None:
    """Draft the answer to one IASIOS requirement from the centre's documents, citing them and the guidelines."""
    settings = Settings()
    user = _user(author)
    try:
        acc, _standards, store, reqs = _open(settings)
        req = acc.find_requirement(reqs, requirement_id)
        if history:
            versions = store.history(req.requirement_id)
            if as_json:
                typer.echo(json.dumps([d.to_json() for d in versions], ensure_ascii=False, indent=2))
            for d in [] if as_json else versions:
                typer.echo(f"v{d.version}  {d.created}  {d.origin:9}  {d.author:12}  {d.status}")
            return
        latest = store.latest(req.requirement_id)
        if latest is not None and latest.origin == "edited" and not force:
            message = str(acc.StaffEditExists(latest))
            if not sys.stdin.isatty() or as_json:
                _fail(acc.AccreditationError(message), code=1)
            if not typer.confirm(f"{message}\nDraft anew anyway?", default=False):
                raise typer.Exit(1)
            force = True
        from ..service import Assistant

        assistant = Assistant.from_settings(settings, index)
        draft = acc.draft_requirement(assistant, store, req, author=user, force=force, k=k)
    except IOGuideError as exc:
        _fail(exc)
    _audit(settings, "accreditation_draft", {"requirement_id": draft.requirement_id, "version": draft.version,
                                             "status": draft.status, "forced": force}, user)
    if as_json:
        typer.echo(json.dumps({**draft.to_json(), "requirement": _req_json(req)}, ensure_ascii=False, indent=2))
    else:
        typer.echo(acc.format_draft(req, draft))


def _req_json(req) -> dict:
    return {k: getattr(req, k) for k in ("requirement_id", "standard", "letter", "section", "section_title",
                                         "level", "inferred", "title", "wording", "wording_status", "origin")}


@coverage_app.callback(invoke_without_command=True)
def coverage_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    core_only: bool = typer.Option(False, "--core-only", help="Only core requirements."),
    missing: bool = typer.Option(False, "--missing", help="Only what is missing for Accredited Centre: core items "
                                                          "without 'evidence found'."),
    section: list[int] = typer.Option(None, "--section", help="Only this section, 1-3 (repeatable)."),
    status: list[str] = typer.Option(None, "--status", help="Only this status (repeatable)."),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Draft requirements that have no draft or a "
                                                                      "stale generated one (staff edits are kept)."),
    author: str | None = typer.Option(None, "--author", help="Recorded as the author of new drafts."),
) -> None:
    """All requirements in one table: standard, item, core/extended, status and the centre's evidence."""
    if ctx.invoked_subcommand:
        return
    settings = Settings()
    user = _user(author)
    try:
        acc, standards, store, reqs = _open(settings)
        if status and (bad := [s for s in status if s not in (*acc.STATUSES, acc.NOT_DRAFTED)]):
            raise acc.AccreditationError(f"unknown status {bad[0]!r}; valid: {', '.join(acc.STATUSES)}, "
                                         f"{acc.NOT_DRAFTED}")
        assistant = None
        if refresh:
            from ..service import Assistant

            assistant = Assistant.from_settings(settings, index)
        progress = None
        if assistant is not None and sys.stderr.isatty():
            def progress(i: int, n: int, rid: str) -> None:
                typer.echo(f"\rChecking {rid} ({i}/{n}) ", err=True, nl=i == n)
        rows = acc.coverage(reqs, store, assistant, author=user, progress=progress)
    except IOGuideError as exc:
        _fail(exc)
    shown = acc.missing_for_accredited(rows) if missing else rows
    shown = acc.filter_rows(shown, sections=tuple(section or ()), levels=("core",) if core_only else (),
                            statuses=tuple(status or ()))
    lacking = standards.standards_without_items(reqs)
    if as_json:
        typer.echo(json.dumps({"requirements": [r.to_json() for r in shown], "summary": acc.status_counts(rows),
                               "missing_for_accredited": [r.requirement_id for r in acc.missing_for_accredited(rows)],
                               "standards_without_known_items": lacking}, ensure_ascii=False, indent=2))
        return
    typer.echo(acc.format_coverage(shown))
    typer.echo("")
    if lacking:
        typer.echo(f"Standards {', '.join(map(str, lacking))}: sub-items not public (none is core); import the "
                   f"wording to add them. '*' = extended item implied by the core lettering.")
    gap = acc.missing_for_accredited(rows)
    typer.echo(f"Missing for Accredited Centre ({len(gap)} of {sum(1 for r in rows if r.level == 'core')} core): "
               + (", ".join(r.requirement_id for r in gap) or "nothing"))


@coverage_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="CSV (requirement_id, title, wording) or YAML with the official wording."),
    author: str | None = typer.Option(None, "--author", help="Recorded as who imported it."),
) -> None:
    """Import the official wording of the requirements (from your IASIOS Application Manual). Stored locally."""
    settings = Settings()
    user = _user(author)
    try:
        acc, standards, store, _reqs = _open(settings)
        report = acc.import_wording_file(file, standards, store, user=user)
    except IOGuideError as exc:
        _fail(exc)
    _audit(settings, "accreditation_import_wording", {"file": str(file), "imported": report.imported}, user)
    for notice in report.notices:
        typer.echo(f"Note: {notice}", err=True)
    typer.echo(f"Imported wording for {len(report.imported)} requirement(s): {', '.join(report.imported)}. "
               f"Run `ioguide coverage` to draft them against the centre's documents.")


@coverage_app.command("export")
def export_cmd(
    fmt: str = typer.Option("docx", "--format", help="docx or md (the application draft); xlsx or csv (the gap "
                                                     "analysis)."),
    out: Path = typer.Option(..., "--out", help="File to write."),
    approved_only: bool = typer.Option(False, "--approved-only", help="Application: approved answers only."),
    include_drafts: bool = typer.Option(False, "--include-drafts", help="With --approved-only: add unapproved "
                                                                        "drafts, marked as drafts."),
) -> None:
    """Export the application draft (docx, md) or the gap analysis (xlsx, csv)."""
    settings = Settings()
    if fmt not in ("docx", "md", "xlsx", "csv"):
        _fail(IOGuideError(f"--format must be docx, md, xlsx or csv (got {fmt!r})"))
    try:
        acc, standards, store, reqs = _open(settings)
        workflow = _workflow(settings, acc)
        approved = _approved(acc, workflow) if approved_only else None
        if fmt == "docx":
            out.write_bytes(acc.application_docx(reqs, store, standards, approved=approved,
                                                 include_drafts=include_drafts))
        elif fmt == "md":
            out.write_text(acc.application_markdown(reqs, store, standards, approved=approved,
                                                    include_drafts=include_drafts), encoding="utf-8")
        else:
            rows = acc.gap_analysis(reqs, store, workflow, date.today())
            if fmt == "csv":
                out.write_text(acc.gap_csv(rows), encoding="utf-8")
            else:
                summary = acc.centre_readiness(reqs, store, workflow, _case_reviews(settings, acc),
                                               date.today()).summary_lines()
                out.write_bytes(acc.gap_xlsx(rows, summary))
    except IOGuideError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(IOGuideError(f"{out}: cannot write ({exc.strerror or exc})"))
    undrafted = [r.requirement_id for r in reqs if store.latest(r.requirement_id) is None]
    if undrafted:
        typer.echo(f"Note: {len(undrafted)} requirement(s) not drafted yet (run `ioguide coverage`): "
                   f"{', '.join(undrafted[:10])}{' ...' if len(undrafted) > 10 else ''}", err=True)
    typer.echo(f"Wrote {out}")


def _db(settings: Settings):
    from ..storage import LocalDB

    return LocalDB(settings.db_path)


def _workflow(settings: Settings, acc):
    db = _db(settings)
    return acc.Workflow(db.path, db)


def _case_reviews(settings: Settings, acc):
    db = _db(settings)
    return acc.CaseReviews(db.path, db)


def _approved(acc, workflow) -> dict:
    approved = workflow.approved_versions("draft")
    return {r.requirement_id: r for r in workflow.reviews(kind="draft")
            if r.state == "approved" and approved.get(r.requirement_id) == r.version}


def assess_cmd(
    requirement_id: str = typer.Argument(..., help="Requirement id, e.g. S8.a or 8a."),
    assessment: str = typer.Argument(..., help="met, 'partially met', 'not met' or 'not applicable'."),
    reason: str = typer.Option("", "--reason", help="Why (required for 'not applicable')."),
    finding: str = typer.Option("", "--finding", help="What was found, for the gap analysis."),
    author: str | None = typer.Option(None, "--author", help="Recorded as the assessor (default: login)."),
) -> None:
    """Record the staff assessment of a requirement (the automatic status stays a suggestion)."""
    settings = Settings()
    try:
        acc, _standards, _store, reqs = _open(settings)
        req = acc.find_requirement(reqs, requirement_id)
        done = _workflow(settings, acc).assess(req.requirement_id, assessment, _user(author), reason, finding)
    except IOGuideError as exc:
        _fail(exc)
    typer.echo(f"{done.requirement_id}: {done.assessment} (assessment {done.assessment_id} by {done.author})")


action_app = typer.Typer(no_args_is_help=True, help="Actions that close accreditation gaps: owner, due date, state.")


@action_app.command("add")
def action_add_cmd(
    requirement_id: str = typer.Argument(..., help="Requirement id, e.g. S4.b."),
    title: str = typer.Argument(..., help="What is to be done."),
    owner: str = typer.Option(..., "--owner", help="Who does it."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
    author: str | None = typer.Option(None, "--author"),
) -> None:
    """Add an action to a requirement."""
    settings = Settings()
    try:
        acc, _standards, _store, reqs = _open(settings)
        req = acc.find_requirement(reqs, requirement_id)
        action = _workflow(settings, acc).add_action(req.requirement_id, title, owner, due, _user(author))
    except IOGuideError as exc:
        _fail(exc)
    typer.echo(f"Action {action.action_id} on {action.requirement_id}: {action.title} ({action.owner}, due "
               f"{action.due})")


@action_app.command("done")
def action_done_cmd(action_id: int = typer.Argument(...), author: str | None = typer.Option(None, "--author")) -> None:
    """Mark an action done."""
    settings = Settings()
    try:
        acc, *_ = _open(settings)
        action = _workflow(settings, acc).set_action_state(action_id, "done", _user(author))
    except IOGuideError as exc:
        _fail(exc)
    typer.echo(f"Action {action.action_id} on {action.requirement_id} done.")


@action_app.command("list")
def action_list_cmd(overdue: bool = typer.Option(False, "--overdue", help="Only open actions past their due date."),
                    ) -> None:
    """List actions (overdue ones marked)."""
    settings = Settings()
    acc, *_ = _open(settings)
    today = date.today()
    for a in _workflow(settings, acc).actions():
        if overdue and not a.overdue(today):
            continue
        flag = "  OVERDUE" if a.overdue(today) else ""
        typer.echo(f"{a.action_id:>4}  {a.requirement_id:6}  {a.due}  {a.state:5}  {a.owner:16}  {a.title}{flag}")


def readiness_cmd() -> None:
    """Readiness for Accredited Centre: core items met, what is missing, the case review, overdue actions."""
    settings = Settings()
    acc, _standards, store, reqs = _open(settings)
    ready = acc.centre_readiness(reqs, store, _workflow(settings, acc), _case_reviews(settings, acc), date.today())
    typer.echo("\n".join(ready.summary_lines()))


casereview_app = typer.Typer(no_args_is_help=True, help="The internal case review: a reproducible random draw of "
                                                        "cases, a checklist per case, a summary.")


@casereview_app.command("draw")
def casereview_draw_cmd(
    cases: Path = typer.Argument(..., help="CSV case list: case_id, date, procedure, operator (pseudonymous)."),
    n: int = typer.Option(30, "--n", min=1, help="Cases to draw."),
    seed: str = typer.Option(..., "--seed", help="Seed of the draw (stored, so that the draw can be repeated)."),
    stratify: bool = typer.Option(False, "--stratify", help="Stratify by procedure type."),
    item: list[str] = typer.Option(None, "--item", help="Checklist item (repeatable; default: the usual four)."),
    as_json: bool = typer.Option(False, "--json"),
    author: str | None = typer.Option(None, "--author"),
) -> None:
    """Draw cases at random, reproducibly, and start a case review."""
    settings = Settings()
    try:
        from .. import accreditation as acc

        case_list = acc.read_case_list(cases)
        review = _case_reviews(settings, acc).draw(case_list, n, seed, _user(author), stratify,
                                                   tuple(item or acc.DEFAULT_CHECKLIST))
    except IOGuideError as exc:
        _fail(exc)
    if as_json:
        from ..accreditation.casereview import review_json

        typer.echo(json.dumps(review_json(review), ensure_ascii=False, indent=2))
        return
    typer.echo(f"Case review {review.review_id}: {len(review.cases)} of {review.list_cases} cases, seed "
               f"{review.seed!r}{', stratified by procedure type' if review.stratified else ''}")
    for c in review.cases:
        typer.echo(f"  {c.case_id:14} {c.date}  {c.procedure:28} {c.operator}")


@casereview_app.command("record")
def casereview_record_cmd(
    review_id: int = typer.Argument(...), case_id: str = typer.Argument(...), item: str = typer.Argument(...),
    result: str = typer.Argument(..., help="yes, no or n/a."), note: str = typer.Option("", "--note"),
    author: str | None = typer.Option(None, "--author"),
) -> None:
    """Record one checklist item for one drawn case."""
    settings = Settings()
    try:
        from .. import accreditation as acc

        _case_reviews(settings, acc).record(review_id, case_id, item, result, _user(author), note)
    except IOGuideError as exc:
        _fail(exc)
    typer.echo(f"Recorded {case_id}: {item} = {result}")


@casereview_app.command("summary")
def casereview_summary_cmd(review_id: int | None = typer.Argument(None, help="Default: the latest review.")) -> None:
    """Rates per checklist item and the cases that failed one."""
    settings = Settings()
    from .. import accreditation as acc
    from ..accreditation.casereview import format_summary

    reviews = _case_reviews(settings, acc)
    try:
        review = reviews.get(review_id) if review_id is not None else reviews.latest()
    except IOGuideError as exc:
        _fail(exc)
    if review is None:
        _fail(IOGuideError("No case review yet: `ioguide casereview draw cases.csv --n 30 --seed S`"), code=1)
    items, complete = reviews.summary(review.review_id)
    typer.echo("\n".join(format_summary(review, items, complete)))


def register(app: typer.Typer) -> None:
    """Add `draft`, `coverage` (with `import` and `export`), `assess`, `action`, `readiness` and `casereview`."""
    app.command("draft")(draft_cmd)
    app.add_typer(coverage_app, name="coverage")
    app.command("assess")(assess_cmd)
    app.add_typer(action_app, name="action")
    app.command("readiness")(readiness_cmd)
    app.add_typer(casereview_app, name="casereview")
