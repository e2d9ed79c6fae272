"""Login gate for the app and its pages: none (explicit banner), local users file, or OIDC (st.login)."""

from __future__ import annotations

import streamlit as st

from ioguide.auth import ROLES, UsersFile, allowed, role_from_claims


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
            st.subheader("Sign in to IO Guide")
            st.button("Log in", on_click=st.login, key="oidc-login")
            st.stop()
        claims = st.user.to_dict()
        name = str(claims.get("email") or claims.get("name") or claims.get("sub") or "unknown")
        role = role_from_claims(claims, ctx.settings.oidc_role_claim, users)
        if st.session_state.get("oidc-audited") != name:
            ctx.db.audit("login", {"ok": True, "via": "oidc", "role": role, "sub": str(claims.get("sub", ""))},
                         user=name)
            st.session_state["oidc-audited"] = name
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
        if mode == "oidc" and st.button("Sign out", key="oidc-logout"):
            ctx.db.audit("logout", {"via": "oidc"}, user=name)
            st.session_state.pop("oidc-audited", None)
            st.logout()
    return name
