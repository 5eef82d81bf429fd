"""REST routes for webhooks: admins subscribe URLs to events; SMS and email providers post
inbound messages, signed with the shared secret from settings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field, SecretStr, ValidationError

from callbridge.adapters.store.webhooks import WebhookStore
from callbridge.adapters.web.auth import CallerDep, public, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import Ident, Strict
from callbridge.domain.channels import Channel
from callbridge.domain.chat import Sender
from callbridge.domain.errors import CallbridgeError, InvalidInput, NotFound
from callbridge.domain.events import EVENT_TYPES
from callbridge.domain.ids import InteractionId, QueueId
from callbridge.domain.security.permissions import Permission
from callbridge.ports import JsonValue
from callbridge.services import chat
from callbridge.services import interactions as svc
from callbridge.services.webhooks import (
    HEADER,
    Subscription,
    check_subscription,
    new_secret,
    verify,
)

router = APIRouter(tags=["webhooks"])
MANAGE = [Depends(requires(Permission.WEBHOOKS_MANAGE))]


class WebhookNotConfigured(CallbridgeError):
    code = "not_configured"


class WebhookIn(Strict):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    events: list[str] = Field(
        default_factory=list, max_length=100, description="Event kinds to send; empty: all."
    )
    active: bool = True


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: float

    @classmethod
    def of(cls, sub: Subscription) -> WebhookOut:
        return cls(
            id=sub.id,
            url=sub.url,
            events=sorted(sub.events),
            active=sub.active,
            created_at=sub.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret. Shown only in this response.")


class InboundMessage(Strict):
    """An SMS or email that arrived at a provider, as it posts it to us."""

    from_: Annotated[str, Field(alias="from", min_length=1, max_length=320)]
    to: Annotated[str, Field(max_length=320)] = ""
    queue_id: Ident
    subject: Annotated[str, Field(max_length=998)] | None = None
    text: Annotated[str, Field(max_length=4096)] | None = None
    attached: dict[
        Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=4096)]
    ] = Field(default_factory=dict)


class InboundAccepted(BaseModel):
    interaction_id: str
    threaded: bool = Field(
        default=False,
        description="A text added to the sender's open SMS conversation, not a new interaction",
    )


def _store(request: Request) -> WebhookStore:
    store: WebhookStore = request.app.state.webhooks
    return store


StoreDep = Annotated[WebhookStore, Depends(_store)]


def _audit_json(sub: Subscription) -> JsonValue:
    events: list[JsonValue] = list(sorted(sub.events))
    return {"url": sub.url, "events": events, "active": sub.active}


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, dependencies=MANAGE)
async def create_webhook(
    body: WebhookIn, rt: RuntimeDep, store: StoreDep, caller: CallerDep
) -> WebhookCreated:
    """Subscribe a URL. Each delivery is a POST of one event as JSON, signed in the
    `Callbridge-Signature` header with the secret returned here (and never again)."""
    check_subscription(body.url, body.events, EVENT_TYPES)
    now = rt.clock.now()
    sub = Subscription(rt.new_id(), body.url, frozenset(body.events), body.active, now)
    secret = new_secret()
    record = caller.audit(now, "webhook.create", "webhook", sub.id, None, _audit_json(sub))
    store.add(sub, secret, [record])
    return WebhookCreated(**WebhookOut.of(sub).model_dump(), secret=secret)


@router.get("/webhooks", dependencies=MANAGE)
async def list_webhooks(store: StoreDep) -> list[WebhookOut]:
    return [WebhookOut.of(sub) for sub in store.subscriptions()]


@router.get("/webhooks/{webhook_id}", dependencies=MANAGE)
async def get_webhook(webhook_id: str, store: StoreDep) -> WebhookOut:
    sub = store.get(webhook_id)
    if sub is None:
        raise NotFound(f"no webhook {webhook_id}", webhook_id=webhook_id)
    return WebhookOut.of(sub)


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=MANAGE
)
async def delete_webhook(
    webhook_id: str, rt: RuntimeDep, store: StoreDep, caller: CallerDep
) -> Response:
    sub = store.get(webhook_id)
    if sub is None:
        raise NotFound(f"no webhook {webhook_id}", webhook_id=webhook_id)
    record = caller.audit(
        rt.clock.now(), "webhook.delete", "webhook", webhook_id, _audit_json(sub), None
    )
    if not store.remove(webhook_id, [record]):
        raise NotFound(f"no webhook {webhook_id}", webhook_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Public: the sender is a provider, not a user. The request is authenticated by its
# Callbridge-Signature (an HMAC under the shared inbound secret), checked before anything else.
@router.post(
    "/webhooks/inbound/{channel}",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": InboundMessage.model_json_schema()}},
        },
        "parameters": [
            {
                "name": HEADER,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>",
            }
        ],
    },
)
async def inbound(
    channel: Literal["sms", "email"], request: Request, rt: RuntimeDep
) -> InboundAccepted:
    """An inbound SMS or email: it becomes an interaction in the named queue. A text from a
    number with an open SMS conversation to the same number of ours joins that conversation;
    a text's words are its conversation's first message."""
    secret: SecretStr | None = request.app.state.inbound_webhook_secret
    if secret is None:
        raise WebhookNotConfigured(
            "inbound webhooks are off: set inbound_webhook_secret to turn them on",
            setting="inbound_webhook_secret",
        )
    raw = await request.body()
    verify(secret.get_secret_value(), request.headers.get(HEADER), raw, rt.clock.now())
    try:
        message = InboundMessage.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None
    if channel == "sms" and message.text:
        ongoing = chat.open_text(rt, message.from_, message.to)
        if ongoing is not None:
            chat.do_send(rt, ongoing, Sender.CUSTOMER, message.text)
            return InboundAccepted(interaction_id=ongoing, threaded=True)
    attached = dict(message.attached)
    if message.subject is not None:
        attached["subject"] = message.subject
    if message.text is not None:
        attached["text"] = message.text
    new = svc.NewInteraction(
        channel=Channel(channel),
        from_address=message.from_,
        to_address=message.to,
        queue_id=QueueId(message.queue_id),
        attached=attached,
    )
    events = svc.do_create_interaction(rt, new)
    iid = InteractionId(str(events[0].interaction_id))
    if channel == "sms" and message.text:
        chat.do_send(rt, iid, Sender.CUSTOMER, message.text)
    return InboundAccepted(interaction_id=iid)
