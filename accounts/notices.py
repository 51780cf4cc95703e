"""E-mails that tell a person about a change to their account (the reset link is Django's own)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import dateformat

from accounts.models import User

logger = logging.getLogger(__name__)


def send_email_changed(*, user: User, old_email: str, changed_at: datetime, login_url: str) -> bool:
    """Tell the old address that the account's e-mail changed; False (and logged) when the mail could not be sent.

    Sent after the change is committed: a mail server that is down must not undo it or turn it
    into an error page, so the failure is logged instead of raised.
    """
    context = {
        "user": user,
        "old_email": old_email,
        "new_email": user.email,
        # Formatted here: the template's date filter would show it in the server's zone.
        "changed_at": dateformat.format(changed_at.astimezone(user.zone), "j F Y, H:i"),
        "time_zone": user.time_zone,
        "login_url": login_url,
    }
    subject = render_to_string("accounts/email_changed_subject.txt", context).strip()
    body = render_to_string("accounts/email_changed_email.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [old_email])
    except Exception:
        # Neither address goes into the log: the user id is enough to find the account.
        logger.exception("could not send the e-mail change notice of user %s", user.pk)
        return False
    return True
