"""Customer pages of customer service: the FAQ, the inquiry form, threads (a customer's, and a
guest's through a signed link) and the one-click rating. Thin: forms validate, services act."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from ipmart.core.http import client_ip
from privacy import vault

from . import selectors, services
from .attachments import download_name, install_upload_cap, skipped_files_error
from .faq import search_faq, topics_with_entries
from .forms import FaqSearchForm, InquiryForm, RatingForm, ReplyForm
from .models import Attachment, Inquiry, Rating
from .ratelimit import count_inquiry, count_reply, inquiry_allowed, reply_allowed
from .tokens import (
    ExpiredToken,
    InvalidToken,
    guest_token,
    inquiry_from_guest_token,
    inquiry_from_rating_token,
)

SENT_SESSION_KEY = "support_sent_reference"
# A customer's own file, downloaded: never rendered by the store's origin.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def capped_uploads(view):
    """Install the upload size cap before anything reads the body. The CSRF middleware reads
    request.POST, so CSRF is checked here instead, after the cap (Django's documented way)."""
    protected = csrf_protect(view)

    @csrf_exempt
    def wrapper(request, *args, **kwargs):
        install_upload_cap(request)
        return protected(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _bound(form_class, request, **kwargs):
    """A form bound to the POST and its files, with an error for files skipped as too large."""
    if request.method != "POST":
        return form_class(**kwargs)
    form = form_class(request.POST, request.FILES, **kwargs)
    skipped = skipped_files_error(request)
    if skipped:
        form.is_valid()
        form.add_error("attachments", skipped)
    return form


def _language() -> str:
    return "ms" if (get_language() or "").startswith("ms") else "en"


def _contact() -> dict:
    return {
        "email": settings.SUPPORT_EMAIL,
        "phones": settings.SUPPORT_PHONE_NUMBERS,
        "address": settings.SUPPORT_POSTAL_ADDRESS,
    }


def faq(request):
    language = _language()
    form = FaqSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    context = {
        "form": form,
        "query": query,
        "results": search_faq(query, language) if query else None,
        "topics": topics_with_entries(language),
        "language": language,
        "contact": _contact(),
        "inquiries": (
            selectors.inquiries_of_customer(request.user) if request.user.is_authenticated else []
        ),
    }
    return render(request, "support/faq.html", context)


@capped_uploads
@require_http_methods(["GET", "POST"])
def ask(request):
    user = request.user if request.user.is_authenticated else None
    initial = {"category": request.GET.get("category", "")}
    form = _bound(InquiryForm, request, user=user, initial=initial)
    refused, status = "", 200
    if request.method == "POST":
        ip = client_ip(request)
        if form.is_spam:
            refused, status = _("We could not accept this message. Please try again."), 400
        elif form.is_valid():
            email = user.email if user else form.cleaned_data["email"]
            if not inquiry_allowed(ip, email):
                refused = _(
                    "You have sent several messages in the last hour, so we cannot take another "
                    "one right now. Your text is still below: please try again later, or email "
                    "us at %(email)s."
                ) % {"email": settings.SUPPORT_EMAIL}
                status = 429
            else:
                try:
                    inquiry = services.submit_inquiry(
                        user=user,
                        email=email,
                        name=form.cleaned_data.get("name", ""),
                        category=form.cleaned_data["category"],
                        order=form.cleaned_data.get("order"),
                        subject=form.cleaned_data["subject"],
                        body=form.cleaned_data["message"],
                        language=_language(),
                        attachments=form.cleaned_data.get("attachments") or (),
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    count_inquiry(ip, email)
                    if user:
                        messages.success(
                            request,
                            _("Thank you. Your reference is %(reference)s.")
                            % {"reference": inquiry.reference},
                        )
                        return redirect("support:inquiry", inquiry.reference)
                    request.session[SENT_SESSION_KEY] = inquiry.reference
                    return redirect("support:sent")
        if not refused and form.errors:
            status = 400
    return render(
        request,
        "support/ask.html",
        {"form": form, "refused": refused, "contact": _contact()},
        status=status,
    )


def sent(request):
    reference = request.session.get(SENT_SESSION_KEY)
    if not reference:
        return redirect("support:faq")
    return render(request, "support/sent.html", {"reference": reference})


@capped_uploads
@login_required
@require_http_methods(["GET", "POST"])
def inquiry_detail(request, reference: str):
    inquiry = selectors.get_inquiry_for_customer(request.user, reference)
    form = _bound(ReplyForm, request)
    refused = ""
    if request.method == "POST" and form.is_valid():
        refused = _reply(request, form, inquiry, author=request.user)
        if not refused and not form.errors:
            messages.success(request, _("Your reply was added."))
            return redirect("support:inquiry", inquiry.reference)
    return render(
        request,
        "support/thread.html",
        {
            "inquiry": inquiry,
            "thread": inquiry.public_messages,
            "form": form,
            "refused": refused,
            "action": request.path,
        },
        status=429 if refused else 400 if form.errors else 200,
    )


def _reply(request, form, inquiry: Inquiry, *, author=None) -> str:
    """Add the reply unless the thread, the IP address or the email address has sent too many
    this hour: then the refusal's text (the form keeps the reply). Service errors go on the
    form."""
    ip = client_ip(request)
    if not reply_allowed(inquiry.pk, ip, inquiry.email):
        return _(
            "You have sent several replies in the last hour, so we cannot take another one "
            "right now. Your text is still below: please try again later, or email us at "
            "%(email)s."
        ) % {"email": settings.SUPPORT_EMAIL}
    try:
        services.reply_as_customer(
            inquiry,
            body=form.cleaned_data["message"],
            author=author,
            attachments=form.cleaned_data.get("attachments") or (),
        )
    except ValidationError as error:
        form.add_error("message", error)
    else:
        count_reply(inquiry.pk, ip, inquiry.email)
    return ""


def _link_problem(request, error: InvalidToken):
    expired = isinstance(error, ExpiredToken)
    return render(
        request,
        "support/link_invalid.html",
        {"expired": expired, "contact": _contact()},
        status=410 if expired else 404,
    )


@capped_uploads
@never_cache
@require_http_methods(["GET", "POST"])
def guest_thread(request, token: str):
    try:
        inquiry = inquiry_from_guest_token(token)
    except InvalidToken as error:
        return _link_problem(request, error)
    form = _bound(ReplyForm, request)
    refused = ""
    if request.method == "POST" and form.is_valid():
        refused = _reply(request, form, inquiry)
        if not refused and not form.errors:
            messages.success(request, _("Your reply was added."))
            # A fresh link: each reply renews the guest's access.
            return redirect("support:guest", guest_token(inquiry))
    return render(
        request,
        "support/thread.html",
        {
            "inquiry": inquiry,
            "thread": selectors.thread_for(inquiry),
            "form": form,
            "refused": refused,
            "action": request.path,
            "guest": True,
            "token": token,
        },
        status=429 if refused else 400 if form.errors else 200,
    )


def _download(attachment: Attachment):
    """The customer's own file, decrypted from the vault chunk by chunk (every chunk is
    authenticated before it is sent; a missing or wrong key fails before the first byte)."""
    if attachment.file is None or attachment.file.is_shredded:
        return HttpResponse(
            _("This file has been deleted."), status=410, content_type="text/plain; charset=utf-8"
        )
    try:
        chunks = vault.open_chunks(attachment.file)
        first = next(chunks)
    except vault.VaultError:
        return HttpResponse(
            _("This file cannot be opened right now. Please contact us."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )

    def stream():
        yield first
        yield from chunks

    response = StreamingHttpResponse(stream(), content_type=attachment.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download_name(attachment)}"'
    response["Content-Length"] = str(attachment.file.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@never_cache
@login_required
@require_http_methods(["GET"])
def attachment_download(request, reference: str, attachment_id: int):
    """A customer's own attachment (another customer's reference or file is a 404)."""
    return _download(selectors.get_attachment_for_customer(request.user, reference, attachment_id))


@never_cache
@require_http_methods(["GET"])
def guest_attachment_download(request, token: str, attachment_id: int):
    """A guest's own attachment through their signed link."""
    try:
        inquiry = inquiry_from_guest_token(token)
    except InvalidToken as error:
        return _link_problem(request, error)
    return _download(selectors.get_attachment_of(inquiry, attachment_id))


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request, token: str):
    """The link in the "resolved" email: GET shows the choice, POST records it."""
    try:
        inquiry = inquiry_from_rating_token(token)
    except InvalidToken as error:
        return _link_problem(request, error)
    initial = request.GET.get("rating") if request.GET.get("rating") in Rating.values else None
    form = RatingForm(request.POST or None, initial={"rating": initial})
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            services.rate_inquiry(inquiry, rating=form.cleaned_data["rating"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            done = True
    return render(
        request,
        "support/rate.html",
        {
            "inquiry": inquiry,
            "form": form,
            "done": done,
            "action": reverse("support:rate", args=[token]),
        },
        status=400 if form.errors else 200,
    )
