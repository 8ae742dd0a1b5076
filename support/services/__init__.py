"""Every state change of customer service, one function per action. Views, admin, the inbound
email webhook and tasks call these; emails go through the outbox (`support.tasks`).

A package by sub-domain: `inquiries` (customers, guests, email), `agents` (staff actions),
`files` (attachments in the vault), `content` (FAQ and canned replies), `common`."""

from .agents import (  # noqa: F401
    accept_held_email,
    add_internal_note,
    apply_macro,
    assign_inquiry,
    change_inquiry_status,
    discard_held_email,
    reopen_inquiry,
    reply_as_agent,
    resolve_inquiry,
)
from .common import (  # noqa: F401
    EMAIL_HANDLER,
    MAX_MESSAGE_CHARS,
    REFERENCE_ALPHABET,
    can_handle,
    new_reference,
)
from .content import (  # noqa: F401
    FAQ_ENTRY_FIELDS,
    FAQ_TOPIC_FIELDS,
    MACRO_FIELDS,
    delete_support_content,
    save_faq_entry,
    save_faq_topic,
    save_macro,
)
from .files import (  # noqa: F401
    EXTENSIONS,
    attachments_of,
    open_attachment_preview,
    shred_attachments,
    store_attachments,
)
from .inquiries import (  # noqa: F401
    rate_inquiry,
    receive_email_reply,
    reply_as_customer,
    route_inquiry_to_data_request,
    submit_inquiry,
)
