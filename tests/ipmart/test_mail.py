"""The embedded default's email: EmlFileBackend writes each message to EMAIL_FILE_PATH, and the
development mail viewer reads them back."""

import email
import email.policy
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.http import Http404
from django.test import RequestFactory

from ipmart.core import devmail

pytestmark = pytest.mark.urls("tests.ipmart.dev_mail_urls")

FILE_NAME = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{8}\.eml$")


@pytest.fixture
def mail_folder(settings, tmp_path):
    settings.EMAIL_BACKEND = "ipmart.core.mail.EmlFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    return tmp_path / "mail"


def _send(subject="Your order IPM-1001", body="Thank you for your order.", to="ana@example.com"):
    return mail.EmailMessage(subject, body, "IPmart <no-reply@ipmart.com.my>", [to]).send()


def _request():
    request = RequestFactory().get("/dev/mail/")
    request.user = AnonymousUser()
    return request


def test_each_message_is_written_to_its_own_eml_file(mail_folder):
    # when
    sent = _send()
    # then
    assert sent == 1
    files = list(mail_folder.iterdir())
    assert len(files) == 1
    assert FILE_NAME.match(files[0].name)
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Your order IPM-1001"
    assert message["To"] == "ana@example.com"
    assert message["From"] == "IPmart <no-reply@ipmart.com.my>"
    assert message.get_body(preferencelist=("plain",)).get_content() == "Thank you for your order."


def test_several_messages_make_several_files(mail_folder):
    # given
    messages = [
        mail.EmailMessage(f"Message {n}", "Body", "shop@example.com", ["ana@example.com"])
        for n in range(3)
    ]
    # when
    with mail.get_connection() as connection:
        sent = connection.send_messages(messages)
    # then
    assert sent == 3
    assert len(list(mail_folder.glob("*.eml"))) == 3


@pytest.mark.django_db
def test_the_mail_list_shows_each_message_and_links_to_it(mail_folder):
    # given
    _send()
    name = next(mail_folder.glob("*.eml")).name
    # when
    response = devmail.mail_list(_request())
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="/dev/mail/{name}/">Your order IPM-1001</a>' in html
    assert "ana@example.com" in html


@pytest.mark.django_db
def test_the_mail_list_is_empty_without_mail(mail_folder):
    # when
    response = devmail.mail_list(_request())
    # then
    assert response.status_code == 200
    assert "No mail yet." in response.content.decode()


@pytest.mark.django_db
def test_the_mail_detail_shows_subject_and_body(mail_folder):
    # given
    _send(body="Your licence key: ABCD-EFGH.\nSee https://ipmart.com.my/account/ for more.")
    name = next(mail_folder.glob("*.eml")).name
    # when
    response = devmail.mail_detail(_request(), name)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Your order IPM-1001</h1>" in html
    assert "Your licence key: ABCD-EFGH." in html
    assert '<a href="https://ipmart.com.my/account/" rel="nofollow">' in html


@pytest.mark.parametrize(
    "name",
    ["../x.eml", "..%2Fx.eml", "x.eml", "20261124T101010123456-0123abcd.eml", "/etc/passwd"],
    ids=["parent", "encoded-parent", "bad-name", "missing", "absolute"],
)
def test_a_name_that_is_not_a_stored_message_is_not_found(mail_folder, name):
    # given: a file the traversal would reach exists
    mail_folder.mkdir(parents=True)
    (mail_folder.parent / "x.eml").write_text("Subject: secret\n\nnot a store message\n")
    (mail_folder / "x.eml").write_text("Subject: secret\n\nnot a store message\n")
    # when
    with pytest.raises(Http404):
        devmail.mail_detail(_request(), name)


@pytest.mark.django_db
@pytest.mark.urls("ipmart.urls")
def test_the_mail_viewer_is_not_routed_with_debug_off(client, mail_folder):
    # given
    _send()
    # when
    response = client.get("/dev/mail/")
    # then
    assert response.status_code == 404
