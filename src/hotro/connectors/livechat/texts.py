"""The widget's user-facing texts, translated on the server (the widget script holds none)."""

from django.utils.translation import gettext as _


def widget_texts() -> dict:
    return {
        "open": _("Chat with us"),
        "close": _("Close the chat"),
        "title": _("Chat"),
        "online": _("We usually reply in a few minutes."),
        "offline": _("We are away right now. Leave a message and your e-mail: we will answer by e-mail."),
        "placeholder": _("Write a message…"),
        "send": _("Send"),
        "attach": _("Attach a file"),
        "name": _("Your name"),
        "email": _("E-mail"),
        "phone": _("Phone"),
        "privacy": _("I have read and accept the privacy notice (required)."),
        "privacy_link": _("Privacy notice"),
        "marketing": _("Send me news and offers (optional)."),
        "start": _("Start the chat"),
        "you": _("You"),
        "agent": _("Support"),
        "typing": _("%(name)s is typing…"),
        "read": _("Seen"),
        "sent": _("Sent"),
        "sending": _("Sending…"),
        "failed": _("Not sent. Tap to retry."),
        "reconnecting": _("Reconnecting…"),
        "new_message": _("New message from %(name)s: %(text)s"),
        "rate": _("How was this chat?"),
        "rate_star": _("%(n)s of 5"),
        "comment": _("Comment (optional)"),
        "rate_send": _("Send rating"),
        "thanks": _("Thank you for your rating!"),
        "resolved": _("This chat was closed. Write again any time."),
        "file_too_big": _("The file is too large."),
        "error": _("Something went wrong; try again."),
        "history_hidden": _("Sign in on this site to see your earlier conversations."),
        "attachment": _("Attachment"),
    }
