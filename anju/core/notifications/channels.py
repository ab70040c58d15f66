"""Outside channels: one interface (`Channel.send`), one class per way out.

A channel raises `DeliveryError` (or any exception) when the message did not go out, and
`DeliverySkipped` when there is nothing to send to (a user without an e-mail address);
`tasks.deliver_notification` records either on the `NotificationDelivery` row."""

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 5


class DeliveryError(Exception):
    """The channel tried and failed; the message says why (kept on the delivery row)."""


class DeliverySkipped(Exception):
    """Nothing to deliver to (no address, no number): not an error, nothing sent."""


def mask_phone(number: str) -> str:
    """+86138****8000: enough to tell numbers apart in a log, not enough to call."""
    digits = number.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[: len(digits) - 8] + "****" + digits[-4:]


def message_text(notification: Any) -> str:
    parts = [str(notification.title)]
    if notification.body:
        parts.append(str(notification.body))
    if notification.url:
        parts.append(str(notification.url))
    return "\n".join(parts)


def post_json(url: str, payload: dict, *, timeout: float = HTTP_TIMEOUT_SECONDS) -> dict:
    """POSTs JSON and returns the decoded JSON answer ({} when the body is empty)."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url!r}")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from gateway") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"gateway unreachable: {reason}") from exc
    if not raw.strip():
        return {}
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeliveryError("gateway answered with something other than JSON") from exc
    return answer if isinstance(answer, dict) else {"result": answer}


class Channel:
    """One way out of Anju. Subclasses set `name` and implement `send`."""

    name: str = ""

    def enabled(self) -> bool:
        """Whether settings turn this channel on for notifications that do not name channels."""
        return False

    def send(self, notification: Any, recipient: Any) -> None:
        raise NotImplementedError


class EmailChannel(Channel):
    name = "email"

    def enabled(self) -> bool:
        return bool(settings.ANJU_NOTIFY_EMAIL)

    def send(self, notification: Any, recipient: Any) -> None:
        address = getattr(recipient, "email", "")
        if not address:
            raise DeliverySkipped("recipient has no e-mail address")
        send_mail(subject=str(notification.title), message=message_text(notification),
                  from_email=None, recipient_list=[address], fail_silently=False)


# --- SMS ------------------------------------------------------------------------------------
class SmsGateway:
    """What an SMS provider must offer: send one text to one number, or raise DeliveryError."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class LoggingSmsGateway(SmsGateway):
    """The default: writes the message to the log with the number masked; sends nothing."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)


class HttpSmsGateway(SmsGateway):
    """POSTs `{"phone": ..., "text": ...}` to ANJU_SMS_GATEWAY_URL; a 2xx answer is success,
    unless its JSON carries `"ok": false` or a non-zero `"code"`/`"errcode"`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url if url is not None else settings.ANJU_SMS_GATEWAY_URL

    def send(self, phone: str, text: str) -> None:
        if not self.url:
            raise DeliveryError("ANJU_SMS_GATEWAY_URL is not set")
        answer = post_json(self.url, {"phone": phone, "text": text})
        if answer.get("ok") is False:
            raise DeliveryError(f"gateway refused: {answer.get('error') or answer}")
        for key in ("code", "errcode"):
            if key in answer and answer[key] not in (0, "0", "OK", "ok"):
                raise DeliveryError(f"gateway refused: {key}={answer[key]} "
                                    f"{answer.get('errmsg') or answer.get('message') or ''}"
                                    .strip())


def sms_gateway() -> SmsGateway:
    return import_string(settings.ANJU_SMS_BACKEND)()


class SmsChannel(Channel):
    name = "sms"

    def enabled(self) -> bool:
        # The logging stand-in only runs when a caller asks for SMS by name.
        backend = settings.ANJU_SMS_BACKEND or ""
        return bool(backend) and not backend.endswith(".LoggingSmsGateway")

    def send(self, notification: Any, recipient: Any) -> None:
        phone = getattr(recipient, "phone", "")
        if not phone:
            raise DeliverySkipped("recipient has no mobile number")
        sms_gateway().send(phone, message_text(notification))


# --- WeCom (企业微信) group robot ------------------------------------------------------------
class WeComChannel(Channel):
    """Posts to a WeCom group robot webhook; @mentions the recipient by mobile number."""

    name = "wecom"

    def __init__(self, url: str | None = None) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url if self._url is not None else settings.ANJU_WECOM_WEBHOOK_URL

    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, notification: Any, recipient: Any) -> None:
        if not self.url:
            raise DeliveryError("ANJU_WECOM_WEBHOOK_URL is not set")
        text: dict[str, Any] = {"content": message_text(notification)}
        phone = str(getattr(recipient, "phone", "") or "")
        if phone:
            text["mentioned_mobile_list"] = [phone.removeprefix("+86")]
        answer = post_json(self.url, {"msgtype": "text", "text": text})
        if answer.get("errcode") != 0:
            raise DeliveryError(
                f"WeCom errcode={answer.get('errcode')} {answer.get('errmsg', '')}".strip())


CHANNELS: dict[str, type[Channel]] = {
    EmailChannel.name: EmailChannel,
    SmsChannel.name: SmsChannel,
    WeComChannel.name: WeComChannel,
}


def get_channel(name: str) -> Channel:
    try:
        return CHANNELS[name]()
    except KeyError:
        raise ValueError(f"unknown notification channel {name!r}") from None


def enabled_channels() -> list[str]:
    """Names of the channels settings turn on, in a stable order."""
    return [name for name, cls in CHANNELS.items() if cls().enabled()]
