from __future__ import annotations

from django.contrib.auth import get_user_model

from tests.conftest import browser_login, screenshot


def test_it_signs_in_through_the_login_form_in_a_real_browser(browser_context, live_server, transactional_db):
    get_user_model().objects.create_user("steward", password="s3cret-pass")
    page = browser_context.new_page()
    page.goto("/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "steward")
    page.fill("#id_password", "s3cret-pass")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "steward" in page.inner_text("header")
    screenshot(page, "home")


def test_it_opens_a_page_for_a_user_signed_in_by_cookie(browser_context, live_server, transactional_db):
    user = get_user_model().objects.create_user("pricing", password="x-long-pass")
    page = browser_login(browser_context, live_server, user)
    page.goto("/triage/")
    assert "Triage" in page.inner_text("header")
