import pytest


@pytest.mark.django_db
def test_home_page_links_to_signup_and_policy(client):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200
    assert b'href="/accounts/signup/"' in response.content
    assert b'href="/privacy/"' in response.content
