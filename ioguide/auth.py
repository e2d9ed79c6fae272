"""Users, roles and permissions for small sites without an identity provider.

Passwords are stored as PBKDF2-HMAC-SHA256 hashes (stdlib hashlib, 310,000 iterations, random salt). Hospitals
with an identity provider use Streamlit's OIDC login instead (IOGUIDE_AUTH=oidc); the role then comes from a claim
of the identity token (IOGUIDE_OIDC_ROLE_CLAIM, default "groups": a group or app role named like the role, e.g.
"ioguide-reviewer"), else from the users file by e-mail, else clinician.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

ROLES = {
    "clinician": {"ask", "feedback"},
    "staff": {"ask", "feedback", "draft", "centre_documents", "evaluate"},
    # approves or returns accreditation work written by someone else (a quality lead, the unit lead)
    "reviewer": {"ask", "feedback", "draft", "centre_documents", "evaluate", "approve"},
    "admin": {"ask", "feedback", "draft", "centre_documents", "evaluate", "library", "reindex", "users", "audit",
              "approve"},
}
ITERATIONS = 310_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, iterations, salt, digest = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        check = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(check.hex(), digest)
    except (ValueError, TypeError):
        return False


class UsersFile:
    """{"users": {"name": {"password": "<hash>", "role": "clinician|staff|admin"}}}"""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")).get("users", {}))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: users file is not valid JSON ({exc})") from exc

    def save(self, users: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"users": users}, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(self, name: str, password: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
        if not name.strip() or len(password) < 8:
            raise ValueError("a user needs a name and a password of at least 8 characters")
        users = self.load()
        users[name.strip()] = {"password": hash_password(password), "role": role}
        self.save(users)

    def authenticate(self, name: str, password: str) -> str | None:
        """The user's role, or None."""
        user = self.load().get(name.strip())
        if user and verify_password(password, user.get("password", "")):
            return user.get("role")
        return None

    def role_of(self, name: str) -> str | None:
        user = self.load().get(name)
        return user.get("role") if user else None


RANK = ("clinician", "staff", "reviewer", "admin")  # when a user holds several roles, the highest counts
ROLE_PREFIX = "ioguide-"


def role_from_claims(claims: dict, claim: str = "groups", users: UsersFile | None = None) -> str:
    """The role of a user signed in through OIDC: from the claim (a string or a list of group / app-role names:
    "reviewer" or "ioguide-reviewer", any case), else the users file entry of their e-mail, else clinician."""
    value = claims.get(claim) if claim else None
    names = [value] if isinstance(value, str) else list(value or [])
    found = set()
    for name in names:
        role = str(name).strip().lower()
        role = role[len(ROLE_PREFIX):] if role.startswith(ROLE_PREFIX) else role
        if role in ROLES:
            found.add(role)
    if found:
        return max(found, key=RANK.index)
    if users is not None and claims.get("email"):
        return users.role_of(str(claims["email"])) or "clinician"
    return "clinician"


def allowed(role: str | None, permission: str) -> bool:
    return permission in ROLES.get(role or "", set())
