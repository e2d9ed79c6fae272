"""Login gate for the app and its pages: none (explicit banner), local users file, or OIDC (st.login)."""

from __future__ import annotations

import streamlit as st

from ioguide.auth import ROLES, UsersFile, allowed


def require(ctx, permission: str) -> str:
    """The signed-in user's name; stops the page when nobody is signed in or the role lacks permission."""
    mode = ctx.settings.auth
    if mode == "none":
        st.session_state["role"] = "admin"
        st.warning("Unauthenticated mode: anyone who can open this page can use every function "
                   "(set IOGUIDE_AUTH=local or oidc to require a login).", icon="🔓")
        return "anonymous"
    users = UsersFile(ctx.settings.users_file)
    if mode == "oidc":
        if not st.user.is_logged_in:
            st.button("Log in", on_click=st.login)
            st.stop()
        name = st.user.get("email") or st.user.get("name") or "unknown"
        role = users.role_of(name) or "clinician"
    else:
        if "user" not in st.session_state:
            with st.form("login"):
                st.subheader("Sign in to IO Guide")
                name = st.text_input("User name")
                password = st.text_input("Password", type="password")
                if st.form_submit_button("Sign in"):
                    role = users.authenticate(name, password)
                    if role:
                        st.session_state["user"], st.session_state["role"] = name.strip(), role
                        ctx.db.audit("login", {"ok": True}, user=name.strip())
                        st.rerun()
                    ctx.db.audit("login", {"ok": False}, user=name.strip())
                    st.error("Unknown user name or wrong password.")
            st.stop()
        name, role = st.session_state["user"], st.session_state["role"]
    st.session_state["role"] = role
    if not allowed(role, permission):
        st.error(f"Your role ({role}) does not allow this page. Roles: " + ", ".join(ROLES))
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {name} ({role})")
        if mode == "local" and st.button("Sign out"):
            ctx.db.audit("logout", {}, user=name)
            st.session_state.pop("user", None)
            st.rerun()
    return name
