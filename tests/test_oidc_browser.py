"""Sign-in the way hospitals do it, end to end in a real browser: a real OpenID Connect provider (panva's certified
oidc-provider on Node.js, tests/oidc/) started here, IO Guide started with IOGUIDE_AUTH=oidc and Streamlit's
st.login pointed at it, and two users whose role comes from the `groups` claim of their ID token. They go through
the accreditation journey: sam (staff) drafts, assesses, assigns and submits; rita (reviewer) approves; a changed
policy is re-indexed and flagged; sam draws and reviews 30 cases; rita exports the gap analysis (XLSX) and the
application (DOCX). Screenshots of the readiness view go to runs/screenshots/."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, stop_process, wait_http
from tests.test_accreditation import TEST_WORDING
from tests.test_accreditation_journey import centre, reindex_centre, write_changed_policy  # noqa: F401 - fixture

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
OIDC_DIR = ROOT / "tests" / "oidc"
USERS = {"sam": {"email": "sam@centre.example", "name": "Sam Staff", "groups": ["ioguide-staff"]},
         "rita": {"email": "rita@centre.example", "name": "Rita Reviewer", "groups": ["ioguide-reviewer", "staff"]}}
pytestmark = pytest.mark.browser
WAIT = 120_000


def ensure_provider_installed() -> None:
    """tests/oidc/node_modules from the lockfile (npm ci), once; .ci/run does the same."""
    if (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        pytest.fail(f"npm ci in tests/oidc failed: {done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def signed_in_app(centre, tmp_path_factory):  # noqa: F811 - the fixture imported above
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    pytest.importorskip("playwright")
    ensure_provider_installed()
    base = tmp_path_factory.mktemp("oidc")
    idp_port, app_port = free_port(), free_port()
    app_url, issuer = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{idp_port}"
    client_secret = os.urandom(16).hex()
    env = {**os.environ, "OIDC_PORT": str(idp_port), "OIDC_CLIENT_ID": "ioguide", "OIDC_CLIENT_SECRET": client_secret,
           "OIDC_REDIRECT_URI": f"{app_url}/oauth2callback", "OIDC_USERS": json.dumps(
               {login: user for login, user in USERS.items()})}
    # Streamlit asks for prompt=select_account unless told otherwise; oidc-provider (like Keycloak) knows "login".
    secrets = base / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "{app_url}/oauth2callback"
cookie_secret = "{os.urandom(24).hex()}"
client_id = "ioguide"
client_secret = "{client_secret}"
server_metadata_url = "{issuer}/.well-known/openid-configuration"
client_kwargs = {{ scope = "openid email profile groups", prompt = "login" }}
""")
    with _process(["node", "provider.mjs"], OIDC_DIR, env, base / "provider.log") as _idp:
        if not wait_http(f"{issuer}/.well-known/openid-configuration", 30):
            pytest.fail(f"oidc-provider did not start: {(base / 'provider.log').read_text()[-2000:]}")
        app_env = {**os.environ, "IOGUIDE_INDEX_DIR": str(centre["index"]), "IOGUIDE_DATA_DIR": str(base / "data"),
                   "IOGUIDE_AUTH": "oidc", "IOGUIDE_USERS_FILE": str(base / "no-users.json")}
        cmd = [sys.executable, "-m", "ui.serve", "--server.address", "127.0.0.1", "--server.port", str(app_port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)]
        with _process(cmd, ROOT, app_env, base / "app.log"):
            if not wait_http(f"{app_url}/_stcore/health", 90):
                pytest.fail(f"streamlit did not start: {(base / 'app.log').read_text()[-2000:]}")
            yield {"url": app_url, "data": base / "data", "base": base, "centre": centre}


@contextlib.contextmanager
def _process(cmd: list[str], cwd: Path, env: dict, log: Path):
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            stop_process(proc)


def sign_in(browser, app_url: str, login: str):
    """A fresh browser context (its own cookies) signed in through the provider's login and consent pages."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{app_url}/Accreditation")
    page.get_by_role("button", name="Log in").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password: the test provider checks the login name only")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page
    page.goto(f"{app_url}/Accreditation")
    expect(page.get_by_text(f"Signed in as {USERS[login]['email']}")).to_be_visible(timeout=WAIT)
    # After the sign-in redirect the navigation names every page by its title, with no "app" entry (issue 16).
    nav = page.locator('[data-testid="stSidebarNav"] a')
    expect(nav.first).to_contain_text("Ask", timeout=WAIT)
    names = [t.split("\n")[-1].strip() for t in nav.all_inner_texts()]
    assert "app" not in names and names[:4] == ["Ask", "Library", "Evaluate", "Accreditation"], names
    return context, page


def one(locator):
    """The locator once it matches exactly one element: while a script reruns, Streamlit keeps the previous run's
    elements on screen until the new run has replaced them."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(1, timeout=WAIT)
    return locator


def find_requirement(page, typed: str, rid: str) -> None:
    from playwright.sync_api import expect

    box = one(page.get_by_label("Find a requirement"))
    box.fill(typed)
    box.press("Enter")
    expect(page.get_by_role("combobox", name="Requirement", exact=True)).to_have_value(
        re.compile(rf"^{re.escape(rid)} \("), timeout=WAIT)


def test_two_users_sign_in_through_oidc_and_go_through_the_journey(signed_in_app):
    from docx import Document
    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    from ioguide import accreditation as acc
    from ioguide.storage import LocalDB

    app_url, data = signed_in_app["url"], signed_in_app["data"]
    centre_ = signed_in_app["centre"]
    shots = ROOT / "runs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    # The centre's official wording, imported beforehand (the import itself is tested through the page elsewhere).
    store = acc.AccreditationStore(data / "ioguide.sqlite3")
    acc.import_wording(TEST_WORDING, "wording.csv", acc.load_standards(), store, user="setup")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        sam_ctx, sam = sign_in(browser, app_url, "sam")
        expect(sam.get_by_text("Signed in as sam@centre.example (staff)")).to_be_visible()

        # sam: draft S8.a, assess it met, submit the draft; an action on S4.b
        find_requirement(sam, "8a", "S8.a")
        one(sam.get_by_role("button", name="Draft", exact=True)).click()
        expect(sam.get_by_text("Status: evidence found")).to_be_visible(timeout=WAIT)
        one(sam.get_by_role("combobox", name="Assessment", exact=True)).click()
        sam.keyboard.type("met")  # the list filters as one types
        # then pick the option itself: Enter can land on the highlighted "not met" on a loaded machine
        sam.get_by_role("option").filter(has_text=re.compile(r"^met$")).first.click(timeout=WAIT)
        expect(sam.get_by_role("combobox", name="Assessment", exact=True)).to_have_value("met")
        one(sam.get_by_role("button", name="Save assessment")).click()
        expect(sam.get_by_text("Current assessment: met by sam@centre.example", exact=False)).to_be_visible(
            timeout=WAIT)
        one(sam.get_by_role("button", name="Submit draft v1 for review")).click()
        expect(sam.get_by_text("awaiting review", exact=False).first).to_be_visible(timeout=WAIT)
        find_requirement(sam, "Standard 4 b", "S4.b")
        one(sam.get_by_label("New action")).fill("Write the staff dosimetry SOP")
        one(sam.get_by_label("Owner")).fill("Dr Lee (medical physics)")
        one(sam.get_by_role("button", name="Add action")).click()
        expect(sam.get_by_text("Write the staff dosimetry SOP · Dr Lee", exact=False)).to_be_visible(timeout=WAIT)

        # rita (reviewer, from her groups claim): approves sam's draft
        rita_ctx, rita = sign_in(browser, app_url, "rita")
        expect(rita.get_by_text("Signed in as rita@centre.example (reviewer)")).to_be_visible()
        find_requirement(rita, "S8.a", "S8.a")
        one(rita.get_by_role("button", name="Approve", exact=True)).click()
        expect(rita.get_by_text("approved by rita@centre.example", exact=False)).to_be_visible(timeout=WAIT)

        # the tumour board policy changes and is re-indexed: the page flags S8.a with what changed
        write_changed_policy(centre_["docs"])
        assert len(reindex_centre(centre_["index"], centre_["docs"]).indexed) == 1
        # the app process notices another process's re-index on its next index check (every 2 s): reload until then
        flag = rita.get_by_text("was re-indexed with changes", exact=False)
        deadline = time.monotonic() + WAIT / 1000
        while True:
            rita.reload()
            rita.get_by_text("Signed in as rita@centre.example").wait_for(timeout=WAIT)
            if flag.count() or time.monotonic() > deadline:
                break
            time.sleep(3)
        expect(flag).to_be_visible(timeout=WAIT)
        expect(rita.get_by_text("weekly multidisciplinary tumour board", exact=False).first).to_be_visible()

        # sam: draws 30 of 300 cases (stratified) and reviews them all; two fail "Consent documented"
        sam.goto(f"{app_url}/Case_review")
        sam.locator("input[type=file]").set_input_files(str(centre_["cases"]))
        one(sam.get_by_label("Seed (kept with the draw)")).fill("audit-2026")
        sam.get_by_text("Stratify by procedure type").click()
        one(sam.get_by_role("button", name="Draw cases")).click()
        expect(sam.get_by_text("Drew 30 of 300 cases", exact=False)).to_be_visible(timeout=WAIT)
        consent = sam.locator("[data-testid='stRadio']").filter(has_text="Consent documented")
        for n in range(1, 31):
            if n in (4, 17):
                consent.get_by_text("no", exact=True).click()
            one(sam.get_by_role("button", name="Save case")).click()
            expect(sam.get_by_text(f"; {n} fully recorded.", exact=False)).to_be_visible(timeout=WAIT)
        expect(sam.get_by_text("Consent documented: 93% (28 yes, 2 no, 0 n/a); failed:", exact=False)) \
            .to_be_visible()

        # rita: the readiness view, then the exports
        rita.goto(f"{app_url}/Readiness")
        expect(rita.get_by_text("Progress per standard")).to_be_visible(timeout=WAIT)
        expect(rita.locator("[data-testid='stMetric']").filter(has_text="Core requirements met")).to_contain_text(
            "1 of 27")
        rita.locator("[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']").first.wait_for(
            timeout=WAIT)
        rita.set_viewport_size({"width": 1400, "height": 2300})  # Streamlit scrolls inside the page: a tall window
        rita.wait_for_timeout(2000)
        rita.screenshot(path=str(shots / "readiness.png"))
        rita.set_viewport_size({"width": 1400, "height": 1000})
        rita.goto(f"{app_url}/Accreditation")
        with rita.expect_download(timeout=WAIT) as got:
            one(rita.get_by_role("button", name="Gap analysis (XLSX)")).click()
        xlsx = signed_in_app["base"] / "gap.xlsx"
        got.value.save_as(xlsx)
        with rita.expect_download(timeout=WAIT) as got:
            one(rita.get_by_role("button", name="Application, approved answers (DOCX)")).click()
        application = signed_in_app["base"] / "application.docx"
        got.value.save_as(application)
        browser.close()

    sheet = load_workbook(xlsx)["Gap analysis"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["S8.a"]["Assessment"] == "met" and "approved by rita@centre.example" in rows["S8.a"]["Reviewer"]
    assert rows["S4.b"]["Owner"] == "Dr Lee (medical physics)"
    text = "\n".join(p.text for p in Document(str(application)).paragraphs)
    assert "Approved by rita@centre.example" in text and "weekly multidisciplinary tumour board" in text
    trail = LocalDB(data / "ioguide.sqlite3").audit_rows()
    logins = {(r["user"], json.loads(r["detail"]).get("role")) for r in trail if r["action"] == "login"}
    assert logins == {("sam@centre.example", "staff"), ("rita@centre.example", "reviewer")}
    acts = {(r["user"], r["action"]) for r in trail}
    assert ("sam@centre.example", "accreditation_review_submit") in acts
    assert ("rita@centre.example", "accreditation_review_approved") in acts
    assert ("sam@centre.example", "casereview_draw") in acts
