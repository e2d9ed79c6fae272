"""What staff decide and do about each requirement, beside the automatic status: assessments (met / partially met /
not met / not applicable with a reason), actions (owner, due date, open or done), review and sign-off by a second
person, and acknowledged evidence re-checks. Every change is written to the audit trail (ioguide/storage.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from ..auth import ROLES, allowed
from .db import init_schema, now_iso, rows_as_dicts, transaction
from .standards import AccreditationError

ASSESSMENTS = ("met", "partially met", "not met", "not applicable")
# The automatic evidence status, offered as a suggestion for the staff assessment.
SUGGESTED = {"evidence found": "met", "partial": "partially met", "missing": "not met"}
ACTION_STATES = ("open", "done")
REVIEW_KINDS = ("draft", "assessment")
APPROVE = "approve"  # the permission (ioguide/auth.py ROLES) needed to approve or return work

SCHEMA = """
CREATE TABLE IF NOT EXISTS accreditation_assessments (id INTEGER PRIMARY KEY AUTOINCREMENT,
    requirement_id TEXT NOT NULL, assessment TEXT NOT NULL, reason TEXT NOT NULL, finding TEXT NOT NULL,
    author TEXT NOT NULL, created TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS accreditation_assessments_keep BEFORE UPDATE ON accreditation_assessments
    BEGIN SELECT RAISE(ABORT, 'assessments are kept as written'); END;
CREATE TABLE IF NOT EXISTS accreditation_actions (id INTEGER PRIMARY KEY AUTOINCREMENT, requirement_id TEXT NOT NULL,
    title TEXT NOT NULL, owner TEXT NOT NULL, due TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL,
    created_by TEXT NOT NULL, closed TEXT NOT NULL DEFAULT '', closed_by TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS accreditation_reviews (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    requirement_id TEXT NOT NULL, version INTEGER NOT NULL, author TEXT NOT NULL, state TEXT NOT NULL,
    submitted_by TEXT NOT NULL, submitted TEXT NOT NULL, reviewer TEXT NOT NULL DEFAULT '',
    reviewed TEXT NOT NULL DEFAULT '', comment TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS accreditation_rechecks (requirement_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    file_hash TEXT NOT NULL, checked_by TEXT NOT NULL, checked TEXT NOT NULL, PRIMARY KEY (requirement_id, doc_id));
"""


class ReviewError(AccreditationError):
    """A review step that is not allowed (own work, wrong role, nothing to review, no comment on a return)."""


class AuditLog(Protocol):
    def audit(self, action: str, detail: dict[str, Any] | str = "", user: str = "") -> None: ...


@dataclass(frozen=True)
class Assessment:
    assessment_id: int
    requirement_id: str
    assessment: str
    reason: str
    finding: str
    author: str
    created: str


@dataclass(frozen=True)
class Action:
    action_id: int
    requirement_id: str
    title: str
    owner: str
    due: str  # ISO date
    state: str  # open | done
    created: str
    created_by: str
    closed: str = ""
    closed_by: str = ""

    def overdue(self, today: date) -> bool:
        return self.state == "open" and date.fromisoformat(self.due) < today


@dataclass(frozen=True)
class Review:
    review_id: int
    kind: str  # draft | assessment
    requirement_id: str
    version: int  # the draft version, or the assessment id
    author: str  # who wrote the work under review
    state: str  # submitted | approved | returned
    submitted_by: str
    submitted: str
    reviewer: str = ""
    reviewed: str = ""
    comment: str = ""

    def describe(self) -> str:
        if self.state == "submitted":
            return f"submitted by {self.submitted_by} ({self.submitted[:10]}), awaiting review"
        return f"{self.state} by {self.reviewer} ({self.reviewed[:10]})" + (f": {self.comment}" if self.comment else "")


class Workflow:
    """Assessments, actions, reviews and re-checks in the app's SQLite file; audit goes to `audit` (a LocalDB)."""

    def __init__(self, path: Path | str, audit: AuditLog):
        self.path = Path(path)
        self.log = audit
        init_schema(self.path, SCHEMA)

    # ------------------------------------------------------------ assessments
    def assess(self, requirement_id: str, assessment: str, author: str, reason: str = "",
               finding: str = "") -> Assessment:
        """Record the staff assessment (a new row each time; the latest counts)."""
        if assessment not in ASSESSMENTS:
            raise AccreditationError(f"Unknown assessment {assessment!r}; valid: {', '.join(ASSESSMENTS)}")
        reason, finding = reason.strip(), finding.strip()
        if assessment == "not applicable" and not reason:
            raise AccreditationError(f"{requirement_id}: 'not applicable' needs a reason (why the requirement does "
                                     "not apply to this centre); nothing saved.")
        author = author or "anonymous"
        with transaction(self.path) as con:
            cur = con.execute("INSERT INTO accreditation_assessments (requirement_id, assessment, reason, finding, "
                              "author, created) VALUES (?,?,?,?,?,?)",
                              (requirement_id, assessment, reason, finding, author, now_iso()))
            new_id = int(cur.lastrowid)
        self.log.audit("accreditation_assess", {"requirement_id": requirement_id, "assessment": assessment,
                                                "reason": reason, "assessment_id": new_id}, user=author)
        return self.assessment_by_id(new_id)

    def assessment_by_id(self, assessment_id: int) -> Assessment:
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_assessments WHERE id=?", (assessment_id,))
        if not rows:
            raise AccreditationError(f"No assessment {assessment_id}")
        return _assessment(rows[0])

    def assessments(self) -> dict[str, Assessment]:
        """The current (latest) assessment of every assessed requirement."""
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_assessments ORDER BY id")
        return {r["requirement_id"]: _assessment(r) for r in rows}

    def assessment_history(self, requirement_id: str) -> list[Assessment]:
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_assessments WHERE requirement_id=? "
                                        "ORDER BY id DESC", (requirement_id,))
        return [_assessment(r) for r in rows]

    # ------------------------------------------------------------ actions
    def add_action(self, requirement_id: str, title: str, owner: str, due: date | str, user: str) -> Action:
        title, owner = " ".join(title.split()), owner.strip()
        if not title or not owner:
            raise AccreditationError(f"{requirement_id}: an action needs a description and an owner.")
        try:
            due_iso = (due if isinstance(due, date) else date.fromisoformat(str(due).strip())).isoformat()
        except ValueError as exc:
            raise AccreditationError(f"{requirement_id}: due date {due!r} is not a date (YYYY-MM-DD).") from exc
        with transaction(self.path) as con:
            cur = con.execute("INSERT INTO accreditation_actions (requirement_id, title, owner, due, state, created, "
                              "created_by) VALUES (?,?,?,?,?,?,?)",
                              (requirement_id, title, owner, due_iso, "open", now_iso(), user or "anonymous"))
            new_id = int(cur.lastrowid)
        self.log.audit("accreditation_action_add", {"requirement_id": requirement_id, "action_id": new_id,
                                                    "title": title, "owner": owner, "due": due_iso}, user=user)
        return self.action(new_id)

    def set_action_state(self, action_id: int, state: str, user: str) -> Action:
        if state not in ACTION_STATES:
            raise AccreditationError(f"Unknown action state {state!r}; valid: {', '.join(ACTION_STATES)}")
        before = self.action(action_id)
        closed = (now_iso(), user or "anonymous") if state == "done" else ("", "")
        with transaction(self.path) as con:
            con.execute("UPDATE accreditation_actions SET state=?, closed=?, closed_by=? WHERE id=?",
                        (state, *closed, action_id))
        self.log.audit("accreditation_action_state", {"requirement_id": before.requirement_id,
                                                      "action_id": action_id, "from": before.state, "to": state},
                       user=user)
        return self.action(action_id)

    def action(self, action_id: int) -> Action:
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_actions WHERE id=?", (action_id,))
        if not rows:
            raise AccreditationError(f"No action {action_id}")
        return _action(rows[0])

    def actions(self, requirement_id: str | None = None) -> list[Action]:
        if requirement_id is None:
            rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_actions ORDER BY due, id")
        else:
            rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_actions WHERE requirement_id=? "
                                            "ORDER BY due, id", (requirement_id,))
        return [_action(r) for r in rows]

    # ------------------------------------------------------------ review and sign-off
    def submit(self, kind: str, requirement_id: str, version: int, author: str, user: str) -> Review:
        """Submit a draft version (or an assessment, by its id) for review by someone else."""
        if kind not in REVIEW_KINDS:
            raise ReviewError(f"Unknown review kind {kind!r}; valid: {', '.join(REVIEW_KINDS)}")
        pending = [r for r in self.reviews(requirement_id, kind) if r.state == "submitted" and r.version == version]
        if pending:
            raise ReviewError(f"{requirement_id}: {kind} version {version} is already awaiting review "
                              f"(submitted by {pending[0].submitted_by}).")
        with transaction(self.path) as con:
            cur = con.execute("INSERT INTO accreditation_reviews (kind, requirement_id, version, author, state, "
                              "submitted_by, submitted) VALUES (?,?,?,?,?,?,?)",
                              (kind, requirement_id, int(version), author or "anonymous", "submitted",
                               user or "anonymous", now_iso()))
            new_id = int(cur.lastrowid)
        self.log.audit("accreditation_review_submit", {"review_id": new_id, "kind": kind,
                                                       "requirement_id": requirement_id, "version": version},
                       user=user)
        return self.review(new_id)

    def decide(self, review_id: int, reviewer: str, role: str | None, approve: bool, comment: str = "") -> Review:
        """Approve or return (with a comment) a submitted review. Nobody decides on work they wrote or submitted,
        and only roles with the 'approve' permission decide at all."""
        review = self.review(review_id)
        comment = comment.strip()
        if review.state != "submitted":
            raise ReviewError(f"Review {review_id} ({review.requirement_id}) was already {review.state} by "
                              f"{review.reviewer}.")
        if not allowed(role, APPROVE):
            can = ", ".join(r for r, perms in ROLES.items() if APPROVE in perms)
            raise ReviewError(f"{reviewer} ({role or 'no role'}) cannot approve or return work; roles that can: "
                              f"{can}.")
        if reviewer in (review.submitted_by, review.author):
            raise ReviewError(f"{reviewer} cannot review {review.requirement_id}: nobody approves their own work "
                              f"(written by {review.author}, submitted by {review.submitted_by}). Another "
                              f"reviewer must decide.")
        if not approve and not comment:
            raise ReviewError(f"{review.requirement_id}: returning work needs a comment saying what to change.")
        state = "approved" if approve else "returned"
        with transaction(self.path) as con:
            con.execute("UPDATE accreditation_reviews SET state=?, reviewer=?, reviewed=?, comment=? "
                        "WHERE id=? AND state='submitted'", (state, reviewer, now_iso(), comment, review_id))
        self.log.audit(f"accreditation_review_{state}", {"review_id": review_id, "kind": review.kind,
                                                         "requirement_id": review.requirement_id,
                                                         "version": review.version, "comment": comment},
                       user=reviewer)
        return self.review(review_id)

    def review(self, review_id: int) -> Review:
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_reviews WHERE id=?", (review_id,))
        if not rows:
            raise ReviewError(f"No review {review_id}")
        return _review(rows[0])

    def reviews(self, requirement_id: str | None = None, kind: str | None = None) -> list[Review]:
        """Newest first."""
        rows = rows_as_dicts(self.path, "SELECT * FROM accreditation_reviews ORDER BY id DESC")
        return [_review(r) for r in rows if (requirement_id is None or r["requirement_id"] == requirement_id)
                and (kind is None or r["kind"] == kind)]

    def pending(self) -> list[Review]:
        return [r for r in self.reviews() if r.state == "submitted"]

    def approved_versions(self, kind: str = "draft") -> dict[str, int]:
        """requirement_id -> the newest approved version (draft version or assessment id)."""
        out: dict[str, int] = {}
        for r in reversed(self.reviews(kind=kind)):
            if r.state == "approved":
                out[r.requirement_id] = r.version
        return out

    def latest_reviews(self) -> dict[str, Review]:
        """requirement_id -> its newest review of either kind."""
        out: dict[str, Review] = {}
        for r in self.reviews():
            out.setdefault(r.requirement_id, r)
        return out

    # ------------------------------------------------------------ evidence re-checks
    def acknowledge(self, requirement_id: str, doc_id: str, file_hash: str, user: str) -> None:
        """Someone re-checked requirement_id against this version of the document: its flag clears."""
        with transaction(self.path) as con:
            con.execute("INSERT OR REPLACE INTO accreditation_rechecks VALUES (?,?,?,?,?)",
                        (requirement_id, doc_id, file_hash, user or "anonymous", now_iso()))
        self.log.audit("accreditation_recheck", {"requirement_id": requirement_id, "doc_id": doc_id,
                                                 "file_hash": file_hash}, user=user)

    def acknowledged(self) -> dict[tuple[str, str], str]:
        rows = rows_as_dicts(self.path, "SELECT requirement_id, doc_id, file_hash FROM accreditation_rechecks")
        return {(r["requirement_id"], r["doc_id"]): r["file_hash"] for r in rows}


def _assessment(r: dict[str, Any]) -> Assessment:
    return Assessment(assessment_id=int(r["id"]), requirement_id=r["requirement_id"], assessment=r["assessment"],
                      reason=r["reason"], finding=r["finding"], author=r["author"], created=r["created"])


def _action(r: dict[str, Any]) -> Action:
    return Action(action_id=int(r["id"]), **{k: r[k] for k in ("requirement_id", "title", "owner", "due", "state",
                                                                  "created", "created_by", "closed", "closed_by")})


def _review(r: dict[str, Any]) -> Review:
    return Review(review_id=int(r["id"]), version=int(r["version"]),
                  **{k: r[k] for k in ("kind", "requirement_id", "author", "state", "submitted_by", "submitted",
                                       "reviewer", "reviewed", "comment")})


def overdue_actions(actions: Iterable[Action], today: date) -> list[Action]:
    return [a for a in actions if a.overdue(today)]


