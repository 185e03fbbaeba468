#!/usr/bin/env python3
"""Point the official Genesys Cloud Python SDK (PureCloudPlatformClientV2 269.0.0) at a running
`confwatch mock` and check that it parses every answer and notification the console relies on.

Usage: check_official_sdk.py BASE_URL CLIENT_ID CLIENT_SECRET [--viewer ID:SECRET] [--listen SECS]
(or MOCK_URL, MOCK_CLIENT_ID, MOCK_CLIENT_SECRET in the environment; prefer the environment for the
secret, since other users can read a command line). tests/sdk/run.sh starts the mock and calls this.

Every answer goes through the SDK's own API classes and models. A check fails when the SDK raises
while parsing, when an expected field is missing or untyped, or when any enum attribute anywhere in
the parsed object came back as 'outdated_sdk_version' (the SDK's setters swallow unknown enum values
instead of raising, so this script walks the objects itself). Prints one line per check and ends
with `N passed, M failed`; exits 1 on any failure.
"""

import argparse
import datetime
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import urllib3
import PureCloudPlatformClientV2 as gc
from PureCloudPlatformClientV2.rest import ApiException

OUTDATED = "outdated_sdk_version"
# The platform's disconnectType values in the GET spelling (the union of the SDK models' lists).
DISCONNECT_TYPES = [
    "endpoint", "endpoint.donotdisturb", "client", "system", "timeout", "transfer",
    "transfer.conference", "transfer.consult", "transfer.donotdisturb", "transfer.forward",
    "transfer.noanswer", "transfer.notavailable", "transport.failure", "error", "peer", "other",
    "spam", "uncallable", "inactivity", "session.expired", "takeover",
]
# Participant states the platform uses (the union of the SDK models' lists).
STATES = [
    "alerting", "dialing", "contacting", "offering", "connected", "disconnected", "terminated",
    "converting", "uploading", "transmitting", "scheduled", "parked", "none",
]
SUPPORT = "Support"
SALES = "Sales"


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name, fn, *args):
        """Runs one check; fn returns a short detail or raises. Returns fn's extra result, if any."""
        try:
            out = fn(*args)
            detail, value = out if isinstance(out, tuple) else (out, None)
            self.passed += 1
            print(f"PASS {name}: {detail}", flush=True)
            return value
        except Exception as e:  # any crash inside the SDK's parser is a failure too
            self.failed += 1
            reason = str(e).strip().replace("\n", " | ")[:400]
            print(f"FAIL {name}: {type(e).__name__}: {reason}", flush=True)
            return None

    def skip(self, name, why):
        self.skipped += 1
        print(f"SKIP {name}: {why}", flush=True)


def outdated_paths(value, path="$"):
    """Every attribute path in an SDK object tree whose value is 'outdated_sdk_version'."""
    found = []
    if isinstance(value, str):
        if value == OUTDATED:
            found.append(path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += outdated_paths(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += outdated_paths(item, f"{path}.{key}")
    elif hasattr(value, "swagger_types"):
        for attr in value.swagger_types:
            found += outdated_paths(getattr(value, attr), f"{path}.{attr}")
    return found


def expect_model(obj, klass, what):
    expect(isinstance(obj, klass), f"{what}: got {type(obj).__name__}, not {klass.__name__}")
    bad = outdated_paths(obj)
    expect(not bad, f"{what}: {OUTDATED} at {', '.join(bad[:8])}")


def expect_datetime(value, what):
    expect(isinstance(value, datetime.datetime), f"{what} is {value!r}, not a datetime")
    expect(value.tzinfo is not None, f"{what} has no time zone")


class Mock:
    """The mock's control API (not part of the platform; plain HTTP with the admin's bearer)."""

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read().decode()
            return json.loads(text) if text else None


def login(base_url, client_id, secret, retries=True):
    """A fresh SDK client logged in with client credentials (login goes to the same host, no `api.`)."""
    api_client = gc.ApiClient(host=base_url)
    if not retries:
        # The SDK retries 429/503 with Retry-After itself (urllib3); to see the 429 answer we give
        # it a transport that does not, through the SDK's documented set_http_client hook.
        http = gc.api_client.DefaultHttpClient()
        http.rest_client.pool_manager = urllib3.PoolManager(retries=False)
        api_client.set_http_client(http)
    return api_client.get_client_credentials_token(client_id, secret)


def error_body(api_client, exc, status, code=None, message_part=None):
    """Decodes an ApiException's body as the SDK's ErrorBody and checks it."""
    expect(isinstance(exc, ApiException), f"expected ApiException, got {exc!r}")
    expect(exc.status == status, f"status {exc.status}, expected {status}")
    body = api_client._ApiClient__deserialize(json.loads(exc.body), "ErrorBody")
    expect_model(body, gc.ErrorBody, "ErrorBody")
    expect(body.status == status, f"ErrorBody.status {body.status!r}")
    expect(body.message, "ErrorBody.message empty")
    expect(body.context_id, "ErrorBody.contextId missing")
    correlation = (exc.headers or {}).get("ININ-Correlation-Id")
    expect(correlation == body.context_id,
           f"contextId {body.context_id!r} is not the ININ-Correlation-Id {correlation!r}")
    if code is not None:
        expect(body.code == code, f"ErrorBody.code {body.code!r}, expected {code!r}")
    if message_part is not None:
        expect(message_part in body.message, f"ErrorBody.message {body.message!r}")
    return body


def make(klass, **attrs):
    """An SDK model with the given attributes (the generated constructors take none)."""
    obj = klass()
    for name, value in attrs.items():
        setattr(obj, name, value)
    return obj


def accepts(klass, attr, value):
    """Whether the SDK model lists `value` for `attr` (its setter keeps it rather than degrade it)."""
    probe = klass()
    setattr(probe, attr, value)
    return getattr(probe, attr) == value


def expect_states(found, legs, klass):
    """found: participant id -> parsed state; legs: state asked -> participant id."""
    for value, leg in legs.items():
        got = found.get(leg)
        expect(got is not None and got != OUTDATED, f"{klass.__name__}: {value!r} came back {got!r}")
        if accepts(klass, "state", value):
            expect(got == value, f"{klass.__name__}: {value!r} came back {got!r}")


def expect_disconnect_types(found, legs, klass, get_spelling):
    """found: participant id -> parsed disconnectType; legs: value asked -> participant id."""
    for value, leg in legs.items():
        wanted = value if get_spelling else value.replace(".donotdisturb", ".dnd")
        got = found.get(leg)
        expect(got is not None and got != OUTDATED, f"{klass.__name__}: {value!r} came back {got!r}")
        if accepts(klass, "disconnect_type", wanted):
            expect(got == wanted, f"{klass.__name__}: {value!r} came back {got!r}, not {wanted!r}")


def raises(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return e
    raise Failure("the call succeeded; an error answer was expected")


class FrameCollector(threading.Thread):
    """Holds a channel's WebSocket open and collects its text frames until stopped."""

    def __init__(self, uri):
        super().__init__(daemon=True)
        self.uri = uri
        self.frames = []
        self.error = None
        self.ready = threading.Event()
        self.stopping = threading.Event()

    def run(self):
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        try:
            with connect(self.uri, open_timeout=5) as socket:
                self.ready.set()
                socket.send(json.dumps({"message": "ping"}))
                while not self.stopping.is_set():
                    try:
                        self.frames.append(socket.recv(timeout=0.2))
                    except TimeoutError:
                        continue
        except (ConnectionClosed, OSError) as e:
            if not self.stopping.is_set():
                self.error = e
        finally:
            self.ready.set()

    def stop(self):
        self.stopping.set()
        self.join(5)


def wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default=os.environ.get("MOCK_URL"))
    parser.add_argument("client_id", nargs="?", default=os.environ.get("MOCK_CLIENT_ID"))
    parser.add_argument("client_secret", nargs="?", default=os.environ.get("MOCK_CLIENT_SECRET"))
    parser.add_argument("--viewer", help="ID:SECRET of a client without the kick's permissions")
    parser.add_argument("--signin", help="CLIENT:USER: a PKCE client and a user of the scenario")
    parser.add_argument("--divisioned", help="CLIENT:USER: a user whose conversation permission "
                        "does not reach the Sales queue's division")
    parser.add_argument("--listen", type=float, default=3.0, help="extra seconds of frames to collect")
    parser.add_argument("--max-calls", type=int, default=12, help="conversations to GET from the query")
    args = parser.parse_args()
    if not (args.base_url and args.client_id and args.client_secret):
        parser.error("base URL, client id and client secret are required (args or MOCK_* env)")

    gc.configuration.host = args.base_url
    checks = Checks()
    try:
        run_checks(args, checks)
    except Exception as e:  # a scripted step outside any check failed (the mock died, say)
        checks.failed += 1
        print(f"FAIL setup: {type(e).__name__}: {str(e).strip()[:400]}", flush=True)
    line = f"{checks.passed} passed, {checks.failed} failed"
    if checks.skipped:
        line += f", {checks.skipped} skipped"
    print(line)
    return 1 if checks.failed else 0


def run_checks(args, checks):
    c = checks.run

    def check_the_checker():
        # What a bad server answer looks like to the SDK, so that this script provably notices it.
        parse = gc.ApiClient(host=args.base_url)._ApiClient__deserialize
        unlisted = parse({"id": "c", "participants": [{"id": "p", "state": "scheduled"}]}, "CallConversation")
        expect(outdated_paths(unlisted) == ["$.participants[0].state"], "an unlisted state went unnoticed")
        try:
            parse({"id": "p", "disconnectType": None}, "CallMediaParticipant")
            raise Failure("a null enum did not crash the SDK's parser")
        except AttributeError:
            pass
        return "an unlisted enum value and a null enum are caught"

    c("checker: catches what the SDK chokes on", check_the_checker)

    # --- Login ------------------------------------------------------------------------------
    def check_login():
        api = login(args.base_url, args.client_id, args.client_secret)
        expect(api.access_token, "no access token")
        return "client-credentials token from /oauth/token on the same host", api

    api = c("login", check_login)
    if api is None:
        return
    mock = Mock(args.base_url, api.access_token)
    routing = gc.RoutingApi(api)
    conversations = gc.ConversationsApi(api)
    analytics = gc.AnalyticsApi(api)
    notifications = gc.NotificationsApi(api)

    def check_bad_login():
        e = raises(login, args.base_url, args.client_id, "not-the-secret")
        body = error_body(api, e, 401)
        return f"401 {body.code}"

    c("login with a wrong secret -> ApiException + ErrorBody", check_bad_login)

    # --- Sign-in as a person (PKCE), users/me, tokens/me -----------------------------------------
    def pkce_api(signin):
        """An ApiClient signed in as the scenario's user by PKCE (CLIENT:USER), the browser's part
        played here."""
        client_id, user_id = signin.split(":", 1)
        helper = gc.ApiClient(host=args.base_url)
        verifier = helper.generate_pkce_code_verifier(128)
        challenge = helper.compute_pkce_code_challenge(verifier)
        redirect_uri = "http://127.0.0.1:9/callback"
        query = urllib.parse.urlencode({
            "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "st",
        })
        page = urllib.request.urlopen(f"{args.base_url}/oauth/authorize?{query}").read().decode()
        expect(f'value="{user_id}"' in page, "the authorize page does not list the user")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        form = urllib.parse.parse_qsl(query) + [("user", user_id)]
        try:
            urllib.request.build_opener(NoRedirect).open(
                f"{args.base_url}/oauth/authorize", urllib.parse.urlencode(form).encode())
            raise Failure("the form was not answered with a redirect")
        except urllib.error.HTTPError as e:
            expect(e.code == 302, f"status {e.code}")
            location = e.headers["Location"]
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
        expect(params.get("state") == "st", "state not sent back")
        api, answer = gc.ApiClient(host=args.base_url).get_pkce_token(
            client_id, verifier, params["code"], redirect_uri)
        expect(api.access_token and answer.get("expires_in"), "no token or lifetime")
        return api

    def check_pkce_signin():
        user_id = args.signin.split(":", 1)[1]
        api = pkce_api(args.signin)
        me = gc.UsersApi(api).get_users_me(expand=["authorization", "organization"])
        expect_model(me, gc.UserMe, "UserMe")
        expect(me.id == user_id and me.authorization is not None, "user or authorization missing")
        expect(me.organization is not None and me.organization.name, "organization missing")
        gc.TokensApi(api).delete_tokens_me()
        expect(api.last_response.status == 200, f"delete_tokens_me status {api.last_response.status}")
        raises(gc.UsersApi(api).get_users_me)
        return f"{me.name}: {len(me.authorization.permissions or [])} permissions; token revoked (200)"

    if args.signin:
        c("signin: get_pkce_token, get_users_me(expand) -> UserMe, delete_tokens_me", check_pkce_signin)
    else:
        checks.skip("signin", "no --signin CLIENT:USER for this scenario")

    # --- Queues (paging) --------------------------------------------------------------------
    def check_queues():
        seen = {}
        first = routing.get_routing_queues(page_size=1, page_number=1)
        expect_model(first, gc.QueueEntityListing, "QueueEntityListing")
        expect(first.page_size == 1 and first.page_number == 1, "paging fields not echoed")
        expect(first.total and first.total >= 2, f"total {first.total!r}")
        expect(first.page_count == first.total, f"pageCount {first.page_count} != total {first.total}")
        for number in range(1, first.page_count + 1):
            page = routing.get_routing_queues(page_size=1, page_number=number)
            expect_model(page, gc.QueueEntityListing, f"page {number}")
            expect(len(page.entities) == 1, f"page {number} has {len(page.entities)} entities")
            queue = page.entities[0]
            expect(isinstance(queue, gc.Queue) and queue.id and queue.name, "queue without id/name")
            seen[queue.name] = queue.id
        expect(len(seen) == first.total, "pages repeat or skip queues")
        named = routing.get_routing_queues(name=SUPPORT)
        expect_model(named, gc.QueueEntityListing, "name filter")
        expect([q.name for q in named.entities] == [SUPPORT], "name filter did not find Support")
        return f"{len(seen)} queues over {first.page_count} pages of 1, name filter", seen

    queues = c("queues: get_routing_queues paging -> QueueEntityListing", check_queues) or {}
    support_id = queues.get(SUPPORT)
    sales_id = queues.get(SALES)
    if not (support_id and sales_id):
        raise Failure("cannot go on without the Support and Sales queues")

    # --- Scripted calls (control API) -------------------------------------------------------
    conference = mock.call("POST", "/mock/conversations", {
        "queue": SUPPORT,
        "participants": [
            {"name": "Customer One", "purpose": "customer", "address": "tel:+15550100"},
            {"name": "Ava Reed", "purpose": "agent", "userId": "a0000000-0000-4000-8000-000000000001"},
            {"name": "Ben Ortiz", "purpose": "agent", "userId": "a0000000-0000-4000-8000-000000000002"},
            {"name": "Outside Expert", "purpose": "external", "address": "tel:+15550199"},
        ],
    })
    ringing = mock.call("POST", "/mock/conversations", {
        "queue": SALES,
        "participants": [
            {"name": "Customer Two", "purpose": "customer"},
            {"name": "Chloe Nakamura", "purpose": "agent", "state": "alerting",
             "userId": "a0000000-0000-4000-8000-000000000003"},
        ],
    })
    legs = {p["name"]: p["id"] for p in conference["participants"]}
    conf_id = conference["id"]
    ringing_id = ringing["id"]
    chloe = next(p["id"] for p in ringing["participants"] if p["name"] == "Chloe Nakamura")

    # --- Notifications: channel, subscriptions, socket -------------------------------------
    calls_topic = f"v2.routing.queues.{support_id}.conversations.calls"
    generic_topic = f"v2.routing.queues.{support_id}.conversations"
    user_topic = "v2.users.a0000000-0000-4000-8000-000000000001.conversations.calls"
    sales_topic = f"v2.routing.queues.{sales_id}.conversations.calls"

    def check_channel():
        channel = notifications.post_notifications_channels()
        expect_model(channel, gc.Channel, "Channel")
        expect(channel.id and channel.connect_uri, "Channel without id/connectUri")
        expect_datetime(channel.expires, "Channel.expires")
        return f"{channel.connect_uri}", channel

    channel = c("notifications: post_notifications_channels -> Channel", check_channel)

    def listing(result, what):
        expect_model(result, gc.ChannelTopicEntityListing, what)
        for topic in result.entities:
            expect(isinstance(topic, gc.ChannelTopic) and topic.id, f"{what}: topic without id")
        return result

    def topic_ids(result):
        return sorted(t.id for t in result.entities)

    collector = None
    if channel is not None:
        def check_put():
            body = [make(gc.ChannelTopic, id=t) for t in (calls_topic, generic_topic, user_topic)]
            result = listing(notifications.put_notifications_channel_subscriptions(channel.id, body), "PUT")
            expect(topic_ids(result) == sorted([calls_topic, generic_topic, user_topic]), topic_ids(result))
            expect(all(t.state == "Permitted" for t in result.entities), "a topic is not Permitted")
            return "3 topics Permitted"

        def check_post():
            body = [make(gc.ChannelTopic, id=sales_topic)]
            result = listing(notifications.post_notifications_channel_subscriptions(channel.id, body), "POST")
            expect(sales_topic in topic_ids(result), f"{sales_topic} missing: {topic_ids(result)}")
            return f"{len(result.entities)} topics"

        def check_get():
            result = listing(notifications.get_notifications_channel_subscriptions(channel.id), "GET")
            expected = sorted([calls_topic, generic_topic, user_topic, sales_topic])
            expect(topic_ids(result) == expected, f"{topic_ids(result)}")
            return f"{len(result.entities)} topics"

        def check_bad_topic():
            body = [make(gc.ChannelTopic, id=calls_topic), make(gc.ChannelTopic, id="v2.no.such.topic")]
            e = raises(notifications.put_notifications_channel_subscriptions, channel.id, body)
            err = error_body(api, e, 400, "notification.invalid.topic", "v2.no.such.topic")
            still = notifications.get_notifications_channel_subscriptions(channel.id)
            expect(len(still.entities) == 4, "a failed PUT changed the subscriptions")
            return f"400 {err.code}, subscriptions unchanged"

        def check_ignore_errors():
            # ignoreErrors covers failed permission checks only: an invalid topic still fails.
            body = [make(gc.ChannelTopic, id="v2.no.such.topic")]
            e = raises(notifications.post_notifications_channel_subscriptions,
                       channel.id, body, ignore_errors=True)
            err = error_body(api, e, 400, "notification.invalid.topic")
            return f"400 {err.code} despite ignoreErrors"

        c("subscriptions: put_notifications_channel_subscriptions", check_put)
        c("subscriptions: post_notifications_channel_subscriptions", check_post)
        c("subscriptions: get_notifications_channel_subscriptions", check_get)
        c("subscriptions: invalid topic -> 400 notification.invalid.topic", check_bad_topic)
        c("subscriptions: invalid topic with ignoreErrors -> still 400", check_ignore_errors)

        def check_divisioned():
            # A user whose conversation permission is granted in Support's division only.
            user_api = pkce_api(args.divisioned)
            user_notifications = gc.NotificationsApi(user_api)
            own = user_notifications.post_notifications_channels()
            body = [make(gc.ChannelTopic, id=t) for t in (calls_topic, sales_topic)]
            e = raises(user_notifications.put_notifications_channel_subscriptions, own.id, body)
            err = error_body(user_api, e, 403, "notification.divisioned.topic")
            result = listing(user_notifications.put_notifications_channel_subscriptions(
                own.id, body, ignore_errors=True), "PUT ignoreErrors")
            states = {t.id: t for t in result.entities}
            expect(states[calls_topic].state == "Permitted", f"{states[calls_topic]}")
            rejected = states[sales_topic]
            expect(rejected.state == "Rejected" and rejected.rejection_reason, f"{rejected}")
            expect(rejected.missing_permissions == ["conversation:communication:view"],
                   f"missingPermissions {rejected.missing_permissions!r}")
            return f"403 {err.code}; with ignoreErrors Sales Rejected, Support Permitted"

        if args.divisioned:
            c("subscriptions: divisioned topic -> 403, or Rejected with ignoreErrors", check_divisioned)
        else:
            checks.skip("subscriptions: divisioned topic", "no --divisioned CLIENT:USER for this scenario")

        def check_every_queue():
            topics = [f"v2.routing.queues.{q}.conversations{kind}" for q in sorted(queues.values())
                      for kind in (".calls", "")]
            result = listing(notifications.post_notifications_channel_subscriptions(
                channel.id, [make(gc.ChannelTopic, id=t) for t in topics]), "POST every queue")
            expect(set(topics) <= set(topic_ids(result)), "a queue topic is missing")
            return f"{len(topics)} topics on {len(queues)} queues"

        c("subscriptions: both queue topics of every queue", check_every_queue)

        def check_socket():
            started = FrameCollector(channel.connect_uri)
            started.start()
            started.ready.wait(6)
            expect(started.error is None and started.is_alive(), f"no socket: {started.error}")
            return "connected, ping sent", started

        collector = c("websocket: connect to connectUri", check_socket)

    # --- Analytics query ------------------------------------------------------------------
    def query_body(queue_id, page=1, size=100):
        now = datetime.datetime.now(datetime.timezone.utc)
        start = (now - datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        end = (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return make(gc.ConversationQuery, 
            interval=f"{start}/{end}",
            order="asc",
            order_by="conversationStart",
            conversation_filters=[make(gc.ConversationDetailQueryFilter, 
                type="and",
                predicates=[make(gc.ConversationDetailQueryPredicate, 
                    type="dimension", dimension="conversationEnd", operator="notExists")])],
            segment_filters=[make(gc.SegmentDetailQueryFilter, 
                type="or",
                predicates=[make(gc.SegmentDetailQueryPredicate, 
                    type="dimension", dimension="queueId", operator="matches", value=queue_id)])],
            paging=make(gc.PagingSpec, page_size=size, page_number=page),
        )

    def check_query():
        result = analytics.post_analytics_conversations_details_query(query_body(support_id))
        expect_model(result, gc.AnalyticsConversationQueryResponse, "AnalyticsConversationQueryResponse")
        found = result.conversations or []
        expect(any(x.conversation_id == conf_id for x in found), "the scripted conference is missing")
        expect(all(x.conversation_end is None for x in found), "an ended conversation was returned")
        for x in found:
            expect(isinstance(x, gc.AnalyticsConversationWithoutAttributes), "untyped conversation")
            expect_datetime(x.conversation_start, "conversationStart")
            for p in x.participants or []:
                expect(isinstance(p, gc.AnalyticsParticipantWithoutAttributes), "untyped participant")
                for s in p.sessions or []:
                    expect(s.media_type == "voice", f"mediaType {s.media_type!r}")
                    for seg in s.segments or []:
                        expect(isinstance(seg, gc.AnalyticsConversationSegment), "untyped segment")
                        expect_datetime(seg.segment_start, "segmentStart")
        ours = next(x for x in found if x.conversation_id == conf_id)
        purposes = sorted(p.purpose for p in ours.participants)
        expect("customer" in purposes and "agent" in purposes, f"purposes {purposes}")
        sales = analytics.post_analytics_conversations_details_query(query_body(sales_id))
        expect_model(sales, gc.AnalyticsConversationQueryResponse, "Sales query")
        expect(all(x.conversation_id != conf_id for x in sales.conversations or []),
               "the Support conference matched the Sales queue filter")
        paged = analytics.post_analytics_conversations_details_query(query_body(support_id, 1, 1))
        expect_model(paged, gc.AnalyticsConversationQueryResponse, "paged query")
        expect(len(paged.conversations or []) == 1, "pageSize 1 not honoured")
        expect(paged.total_hits == result.total_hits, f"totalHits {paged.total_hits} vs {result.total_hits}")
        return f"{len(found)} active on Support (totalHits {result.total_hits}), queue filter, paging", found

    active = c("analytics: post_analytics_conversations_details_query (conversationEnd notExists)",
               check_query) or []

    # --- Reading conversations ------------------------------------------------------------
    def check_get_call(conversation_id):
        call = conversations.get_conversations_call(conversation_id)
        expect_model(call, gc.CallConversation, "CallConversation")
        expect(call.id == conversation_id, "wrong id")
        expect(call.participants, "no participants")
        for p in call.participants:
            expect(isinstance(p, gc.CallMediaParticipant), "untyped participant")
            expect(p.id and p.state and p.purpose, f"participant without id/state/purpose: {p.id}")
            expect_datetime(p.start_time, f"participant {p.id} startTime")
        return f"{len(call.participants)} participants", call

    def check_get_generic(conversation_id):
        conv = conversations.get_conversation(conversation_id)
        expect_model(conv, gc.Conversation, "Conversation")
        expect(conv.id == conversation_id and conv.participants, "wrong id or no participants")
        for p in conv.participants:
            expect(isinstance(p, gc.Participant) and p.id and p.purpose, "participant without id/purpose")
            expect(p.calls, f"participant {p.id} has no calls[]")
            for leg in p.calls:
                expect(isinstance(leg, gc.Call) and leg.state, "call leg without state")
        expect_datetime(conv.start_time, "Conversation.startTime")
        return f"{len(conv.participants)} participants", conv

    c("conversations: get_conversations_call -> CallConversation", check_get_call, conf_id)
    c("conversations: get_conversation -> Conversation", check_get_generic, conf_id)
    def check_every_queue_query():
        ids = []
        for name, queue_id in sorted(queues.items()):
            result = analytics.post_analytics_conversations_details_query(query_body(queue_id))
            expect_model(result, gc.AnalyticsConversationQueryResponse, f"{name} query")
            ids += [x.conversation_id for x in result.conversations or []]
        return f"{len(ids)} active calls on {len(queues)} queues", ids

    every_active = c("analytics: the query on every queue", check_every_queue_query) or []
    others = [x for x in every_active if x != conf_id][: args.max_calls]
    if others:
        def check_many():
            states = set()
            for conversation_id in others:
                _, call = check_get_call(conversation_id)
                check_get_generic(conversation_id)
                states |= {p.state for p in call.participants}
            return f"{len(others)} more calls read both ways; states seen: {sorted(states)}"

        c("conversations: other active calls, both shapes", check_many)

    # --- The kick -------------------------------------------------------------------------
    time.sleep(1.0)  # past any transition-lock settle time of the freshly made legs

    def participant(conversation_id, leg_id):
        call = conversations.get_conversations_call(conversation_id)
        expect_model(call, gc.CallConversation, "CallConversation")
        return next(p for p in call.participants if p.id == leg_id)

    def check_kick_calls_path():
        body = make(gc.MediaParticipantRequest, state="disconnected")
        out = conversations.patch_conversations_call_participant(conf_id, legs["Ben Ortiz"], body)
        expect(out is None, f"returned {out!r}")
        expect(api.last_response.status == 202, f"status {api.last_response.status}")
        expect(api.last_response.data == "", "202 body not empty")
        gone = wait_for(lambda: participant(conf_id, legs["Ben Ortiz"]).state == "disconnected")
        expect(gone, "the leg did not go disconnected")
        ben = participant(conf_id, legs["Ben Ortiz"])
        expect_datetime(ben.end_time, "endTime")
        expect(ben.disconnect_type, "no disconnectType")
        alive = participant(conf_id, legs["Ava Reed"]).state
        expect(alive == "connected", f"Ava is {alive}")
        return f"None/202; then disconnected ({ben.disconnect_type}), others stay"

    def check_kick_generic_path():
        body = make(gc.MediaParticipantRequest, state="disconnected")
        out = conversations.patch_conversation_participant(conf_id, legs["Outside Expert"], body)
        expect(out is None and api.last_response.status == 202, f"{out!r} {api.last_response.status}")
        expect(wait_for(lambda: participant(conf_id, legs["Outside Expert"]).state == "disconnected"),
               "the leg did not go disconnected")
        return "None/202; then disconnected"

    def check_hold():
        body = make(gc.MediaParticipantRequest, held=True)
        out = conversations.patch_conversations_call_participant(conf_id, legs["Ava Reed"], body)
        expect(out is None and api.last_response.status == 202, f"{out!r} {api.last_response.status}")
        expect(wait_for(lambda: participant(conf_id, legs["Ava Reed"]).held is True), "not held")
        return "None/202; then held"

    c("kick: patch_conversations_call_participant {state: disconnected}", check_kick_calls_path)
    c("kick: patch_conversation_participant (generic path)", check_kick_generic_path)
    c("hold: patch_conversations_call_participant {held: true}", check_hold)

    # --- Every disconnectType, in every shape -------------------------------------------
    # One call with a leg per platform value; each leg ends with its own disconnectType (control
    # API). Each shape must carry the value where its SDK model lists it, and never an unlisted one.
    many = mock.call("POST", "/mock/conversations", {
        "queue": SUPPORT,
        "participants": [{"name": "Customer Three", "purpose": "customer"},
                         {"name": "Stays", "purpose": "external"}]
        + [{"name": f"Leg {v}", "purpose": "external"} for v in DISCONNECT_TYPES],
    })
    many_id = many["id"]
    many_legs = {p["name"][4:]: p["id"] for p in many["participants"] if p["name"].startswith("Leg ")}

    def check_disconnect_types():
        for value, leg in many_legs.items():
            mock.call("PATCH", f"/mock/conversations/{many_id}/participants/{leg}",
                      {"state": "disconnected", "disconnectType": value})
        call = conversations.get_conversations_call(many_id)
        expect_model(call, gc.CallConversation, "CallConversation")
        by_id = {p.id: p.disconnect_type for p in call.participants}
        expect_disconnect_types(by_id, many_legs, gc.CallMediaParticipant, get_spelling=True)
        conv = conversations.get_conversation(many_id)
        expect_model(conv, gc.Conversation, "Conversation")
        by_id = {p.id: p.calls[0].disconnect_type for p in conv.participants}
        expect_disconnect_types(by_id, many_legs, gc.Call, get_spelling=True)
        return f"{len(many_legs)} values, GET /calls/ and GET generic"

    c("disconnectType: every platform value in both GET shapes", check_disconnect_types)

    # The same for participant states: one leg made in each state.
    staged = mock.call("POST", "/mock/conversations", {
        "queue": SUPPORT,
        "participants": [{"name": "Customer Four", "purpose": "customer"},
                         {"name": "Stays Too", "purpose": "external"}]
        + [{"name": f"Leg {v}", "purpose": "external", "state": v} for v in STATES],
    })
    staged_id = staged["id"]
    staged_legs = {p["name"][4:]: p["id"] for p in staged["participants"] if p["name"].startswith("Leg ")}

    def check_states():
        call = conversations.get_conversations_call(staged_id)
        expect_model(call, gc.CallConversation, "CallConversation")
        expect_states({p.id: p.state for p in call.participants}, staged_legs, gc.CallMediaParticipant)
        conv = conversations.get_conversation(staged_id)
        expect_model(conv, gc.Conversation, "Conversation")
        expect_states({p.id: p.calls[0].state for p in conv.participants}, staged_legs, gc.Call)
        return f"{len(staged_legs)} states, GET /calls/ and GET generic"

    c("state: every platform value in both GET shapes", check_states)

    def check_sweeps_in_analytics():
        result = analytics.post_analytics_conversations_details_query(query_body(support_id))
        expect_model(result, gc.AnalyticsConversationQueryResponse, "AnalyticsConversationQueryResponse")
        found = {x.conversation_id: x for x in result.conversations or []}
        expect(many_id in found and staged_id in found, "the calls made for the sweeps are missing")
        kinds = set()
        for conversation_id in (many_id, staged_id):
            for p in found[conversation_id].participants:
                for session in p.sessions or []:
                    kinds |= {seg.disconnect_type for seg in session.segments or [] if seg.disconnect_type}
        return f"segment disconnectTypes parsed: {len(kinds)} distinct"

    c("analytics: the sweep calls' segments", check_sweeps_in_analytics)

    # A call transferred from Support to Sales: one acd participant per queue, each leg naming
    # its queue in both GET shapes; the details query finds it under both queues.
    moved = mock.call("POST", "/mock/conversations", {"queue": SUPPORT, "participants": [
        {"name": "Tess Transfer", "purpose": "customer", "state": "connected"},
        {"name": "Support", "purpose": "acd", "state": "disconnected"},
        {"name": "Ava Reed", "purpose": "agent", "state": "connected"},
    ]})
    moved_id = moved["id"]
    mock.call("POST", f"/mock/conversations/{moved_id}/transfer",
              {"queue": SALES, "agent": {"name": "Dev Patel", "purpose": "agent"}})

    def check_transferred():
        _, call = check_get_call(moved_id)
        _, conv = check_get_generic(moved_id)
        acd = [p.queue.id for p in call.participants if p.purpose == "acd" and p.queue]
        expect(acd == [support_id, sales_id], f"acd queues {acd}")
        generic = [p.queue_id for p in conv.participants if p.purpose == "acd"]
        expect(generic == acd, f"generic acd queueIds {generic}")
        segment_queues = set()
        for queue_id in (support_id, sales_id):
            result = analytics.post_analytics_conversations_details_query(query_body(queue_id))
            expect_model(result, gc.AnalyticsConversationQueryResponse, "transferred call query")
            found = [x for x in result.conversations or [] if x.conversation_id == moved_id]
            expect(found, f"not found under queue {queue_id}")
            for p in found[0].participants:
                for session in p.sessions or []:
                    segment_queues |= {seg.queue_id for seg in session.segments or [] if seg.queue_id}
        expect({support_id, sales_id} <= segment_queues, f"segment queues {segment_queues}")
        return f"{len(call.participants)} participants, acd in 2 queues, found under both"

    c("conversations: a call transferred to another queue", check_transferred)

    def check_too_large():
        mock.call("PUT", "/mock/faults", {"analyticsResponseLimitBytes": 100})
        try:
            e = raises(analytics.post_analytics_conversations_details_query, query_body(support_id))
        finally:
            mock.call("PUT", "/mock/faults", {"analyticsResponseLimitBytes": 0})
        return error_body(api, e, 400, "response.entity.too.large", "Reduce pageSize").code

    c("errors: 400 response.entity.too.large -> ApiException + ErrorBody", check_too_large)

    # --- Error answers --------------------------------------------------------------------
    def check_404():
        e = raises(conversations.get_conversations_call, "00000000-0000-4000-8000-00000000dead")
        first = error_body(api, e, 404)
        e = raises(conversations.patch_conversations_call_participant, conf_id,
                   "00000000-0000-4000-8000-00000000beef", make(gc.MediaParticipantRequest, state="disconnected"))
        second = error_body(api, e, 404, "conversation.error.not.conversation.participant")
        return f"{first.code}; {second.code}"

    def check_400():
        e = raises(conversations.patch_conversations_call_participant, conf_id, legs["Ben Ortiz"],
                   make(gc.MediaParticipantRequest, state="disconnected"))
        body = error_body(api, e, 400, "conversation.error.call.disconnected")
        return body.code

    def check_generic_codes():
        # The generic path's own codes: 404 not.found for an unknown call, 400
        # participant.no.active.conversations for a leg that has gone (the mock's default).
        e = raises(conversations.patch_conversation_participant, "00000000-0000-4000-8000-00000000dead",
                   legs["Ben Ortiz"], make(gc.MediaParticipantRequest, state="disconnected"))
        first = error_body(api, e, 404, "not.found")
        e = raises(conversations.patch_conversation_participant, conf_id, legs["Ben Ortiz"],
                   make(gc.MediaParticipantRequest, state="disconnected"))
        second = error_body(api, e, 400, "conversation.error.participant.no.active.conversations")
        return f"{first.code}; {second.code}"

    c("errors: 404 -> ApiException + ErrorBody", check_404)
    c("errors: 400 leg already gone -> ApiException + ErrorBody", check_400)
    c("errors: the generic path's 404 and gone-leg 400", check_generic_codes)

    if args.viewer:
        def check_403():
            viewer_id, _, viewer_secret = args.viewer.partition(":")
            viewer = login(args.base_url, viewer_id, viewer_secret)
            e = raises(gc.ConversationsApi(viewer).patch_conversations_call_participant, conf_id,
                       legs["Ava Reed"], make(gc.MediaParticipantRequest, state="disconnected"))
            body = error_body(viewer, e, 403, "missing.any.permissions",
                              "conversation:communication:disconnect")
            return body.code

        c("errors: 403 client without the kick's permissions", check_403)
    else:
        checks.skip("errors: 403 client without the kick's permissions", "no --viewer client given")

    faults_before = mock.call("GET", "/mock/faults")

    def check_409():
        mock.call("PUT", "/mock/faults", {"transitionLock": {"enabled": True}})
        try:
            e = raises(conversations.patch_conversations_call_participant, ringing_id, chloe,
                       make(gc.MediaParticipantRequest, state="disconnected"))
            body = error_body(api, e, 409, "request.conflict")
        finally:
            mock.call("PUT", "/mock/faults", {"transitionLock": faults_before["transitionLock"]})
        return f"409 {body.code}"

    def check_429():
        fresh = login(args.base_url, args.client_id, args.client_secret, retries=False)
        mock.call("PUT", "/mock/faults", {"rateLimitPerMinute": 2})
        try:
            fresh_routing = gc.RoutingApi(fresh)
            fresh_routing.get_routing_queues()
            fresh_routing.get_routing_queues()
            e = raises(fresh_routing.get_routing_queues)
            body = error_body(fresh, e, 429, "too.many.requests.retry.after")
            retry_after = e.headers.get("Retry-After")
            expect(retry_after and retry_after.isdigit(), f"Retry-After {retry_after!r}")
            expect(f"Retry the request in [{retry_after}] seconds" in body.message,
                   f"message {body.message!r}")
            expect(body.details == [] and body.errors == [], f"details {body.details!r} errors {body.errors!r}")
        finally:
            mock.call("PUT", "/mock/faults", {"rateLimitPerMinute": faults_before["rateLimitPerMinute"]})
        return f"429 {body.code}, Retry-After {retry_after}"

    def with_faults(change, fn):
        """Runs fn with the mock's faults changed, then puts back the fields it changed."""
        mock.call("PUT", "/mock/faults", change)
        try:
            return fn()
        finally:
            mock.call("PUT", "/mock/faults", {key: faults_before[key] for key in change})

    def check_expired_token():
        def expire():
            short = login(args.base_url, args.client_id, args.client_secret)
            time.sleep(1.5)
            e = raises(gc.RoutingApi(short).get_routing_queues)
            return error_body(short, e, 401)

        body = with_faults({"tokenLifetimeSecs": 1}, expire)
        return f"401 {body.code}"

    def check_server_error():
        def fail():
            fresh = login(args.base_url, args.client_id, args.client_secret, retries=False)
            e = raises(gc.ConversationsApi(fresh).get_conversations_call, conf_id)
            return error_body(fresh, e, 503)

        body = with_faults({"serverErrorRate": 1.0, "serverErrorStatus": 503}, fail)
        return f"503 {body.code}"

    def check_not_a_user():
        def refuse():
            e = raises(conversations.patch_conversations_call_participant, conf_id, legs["Ava Reed"],
                       make(gc.MediaParticipantRequest, muted=True))
            return error_body(api, e, 400, "not.a.user")

        body = with_faults({"callsPathNotAUser": True}, refuse)
        out = conversations.patch_conversation_participant(
            conf_id, legs["Ava Reed"], make(gc.MediaParticipantRequest, muted=True))
        expect(out is None and api.last_response.status == 202, "the generic path did not answer 202")
        return f"/calls/ 400 {body.code}; generic path 202"

    c("errors: 409 transition lock on a ringing leg", check_409)
    c("errors: 429 rate limit (SDK retries off)", check_429)
    c("errors: 401 expired token", check_expired_token)
    c("errors: 503 server error (SDK retries off)", check_server_error)
    c("errors: 400 not.a.user on /calls/, generic path accepted", check_not_a_user)

    def check_user_not_party():
        # A signed-in supervisor who is not on the call: /calls/ refuses, the generic path takes it.
        user_api = pkce_api(args.signin)
        user_conversations = gc.ConversationsApi(user_api)
        request = make(gc.MediaParticipantRequest, muted=True)
        e = raises(user_conversations.patch_conversations_call_participant, conf_id,
                   legs["Ava Reed"], request)
        body = error_body(user_api, e, 400, "conversation.error.user.not.party")
        out = user_conversations.patch_conversation_participant(conf_id, legs["Ava Reed"], request)
        expect(out is None and user_api.last_response.status == 202,
               "the generic path did not answer 202")
        return f"/calls/ 400 {body.code}; generic path 202"

    if args.signin:
        c("errors: 400 user.not.party on /calls/ for a user not on the call", check_user_not_party)
    else:
        checks.skip("errors: 400 user.not.party", "no --signin CLIENT:USER for this scenario")

    # --- Notifications: frames and unsubscribe -------------------------------------------
    if collector is not None:
        # A last change on the Support conference, so frames certainly follow our kick.
        mock.call("PATCH", f"/mock/conversations/{conf_id}/participants/{legs['Ava Reed']}", {"held": False})
        time.sleep(args.listen)
        collector.stop()
        def check_frames():
            expect(collector.error is None, f"socket closed early: {collector.error}")
            counts = {}
            pong = False
            ours_disconnected = False
            last_many = {}
            last_staged = {}
            for text in collector.frames:
                frame = json.loads(text)
                topic = frame.get("topicName", "")
                body = frame.get("eventBody")
                if topic == "channel.metadata":
                    pong |= body.get("message") == "pong"
                    counts["channel.metadata"] = counts.get("channel.metadata", 0) + 1
                    continue
                if topic.startswith("v2.users.") and topic.endswith(".conversations.calls"):
                    model = "ConversationCallEventTopicCallConversation"
                elif topic.startswith("v2.routing.queues.") and topic.endswith(".conversations.calls"):
                    model = "QueueConversationCallEventTopicCallConversation"
                elif topic.startswith("v2.routing.queues.") and topic.endswith(".conversations"):
                    model = "QueueConversationEventTopicConversation"
                else:
                    raise Failure(f"unexpected topic {topic!r}")
                event = api._ApiClient__deserialize(body, model)
                expect_model(event, getattr(gc, model), f"{topic} frame")
                expect(event.id and event.participants, f"{topic}: no id or participants")
                if model != "QueueConversationEventTopicConversation":
                    for p in event.participants:
                        expect(p.id and p.state, f"{topic}: participant without id/state")
                        expect_datetime(p.start_time, f"{topic}: startTime")
                    if model == "QueueConversationCallEventTopicCallConversation" and event.id == conf_id:
                        ours_disconnected |= any(p.id == legs["Ben Ortiz"] and p.state == "disconnected"
                                                 for p in event.participants)
                if event.id == many_id:
                    last_many[model] = event
                if event.id == staged_id:
                    last_staged[model] = event
                counts[model] = counts.get(model, 0) + 1
            expect(counts.get("QueueConversationCallEventTopicCallConversation"), f"no call frames: {counts}")
            expect(counts.get("QueueConversationEventTopicConversation"), f"no generic frames: {counts}")
            expect(counts.get("ConversationCallEventTopicCallConversation"), f"no user frames: {counts}")
            expect(ours_disconnected, "no frame showed the kicked leg disconnected")
            expect(pong, "no pong on channel.metadata")
            for model, event in last_many.items():
                if model == "QueueConversationEventTopicConversation":
                    found = {p.id: p.calls[0].disconnect_type for p in event.participants if p.calls}
                    klass = gc.QueueConversationEventTopicCall
                else:
                    found = {p.id: p.disconnect_type for p in event.participants}
                    klass = gc.QueueConversationCallEventTopicCallMediaParticipant
                expect_disconnect_types(found, many_legs, klass, get_spelling=False)
            expect(len(last_many) == 2, f"frames of the disconnectType call: {sorted(last_many)}")
            for model, event in last_staged.items():
                if model == "QueueConversationEventTopicConversation":
                    found = {p.id: p.calls[0].state for p in event.participants if p.calls}
                    klass = gc.QueueConversationEventTopicCall
                else:
                    found = {p.id: p.state for p in event.participants}
                    klass = gc.QueueConversationCallEventTopicCallMediaParticipant
                expect_states(found, staged_legs, klass)
            expect(len(last_staged) == 2, f"frames of the call in every state: {sorted(last_staged)}")
            return f"{len(collector.frames)} frames parsed: {counts}"

        c("websocket: every eventBody parsed by the SDK's topic models", check_frames)

        def check_delete():
            out = notifications.delete_notifications_channel_subscriptions(channel.id)
            expect(out is None, f"returned {out!r}")
            left = notifications.get_notifications_channel_subscriptions(channel.id)
            expect_model(left, gc.ChannelTopicEntityListing, "GET after DELETE")
            expect(not left.entities, f"{len(left.entities)} topics left")
            return f"None/{api.last_response.status}; no topics left"

        c("subscriptions: delete_notifications_channel_subscriptions", check_delete)

        def check_socket_closing():
            def drop():
                second = notifications.post_notifications_channels()
                expect_model(second, gc.Channel, "Channel")
                watcher = FrameCollector(second.connect_uri)
                watcher.start()
                watcher.ready.wait(6)
                watcher.join(6)  # the mock closes the socket after a second
                return watcher

            watcher = with_faults({"socketDropAfterSecs": 1, "socketClosingNotice": True}, drop)
            expect(not watcher.is_alive(), "the socket was not closed")
            closing = [json.loads(t) for t in watcher.frames]
            closing = [f for f in closing if f.get("topicName") == "v2.system.socket_closing"]
            expect(closing, f"no v2.system.socket_closing among {len(watcher.frames)} frames")
            body = api._ApiClient__deserialize(closing[0]["eventBody"], "SystemMessageSystemMessage")
            expect_model(body, gc.SystemMessageSystemMessage, "socket_closing body")
            expect(body.message, "socket_closing without a message")
            return f"socket_closing parsed: {body.message!r}"

        c("websocket: v2.system.socket_closing before a drop", check_socket_closing)

        def system_message(change, token_of_its_own):
            """A new channel (on its own token when asked) under `change`; its system message."""
            own = login(args.base_url, args.client_id, args.client_secret) \
                if token_of_its_own else api
            own_notifications = gc.NotificationsApi(own)

            def listen():
                fresh = own_notifications.post_notifications_channels()
                own_notifications.put_notifications_channel_subscriptions(
                    fresh.id, [make(gc.ChannelTopic, id=calls_topic)])
                watcher = FrameCollector(fresh.connect_uri)
                watcher.start()
                watcher.ready.wait(6)
                wait_for(lambda: any("systemTopicType" in t for t in watcher.frames), 8)
                watcher.stop()
                return fresh, watcher

            fresh, watcher = with_faults(change, listen)
            frames = [json.loads(t) for t in watcher.frames]
            found = [f for f in frames if "systemTopicType" in (f.get("eventBody") or {})]
            expect(found, f"no system message among {len(frames)} frames")
            body = api._ApiClient__deserialize(found[0]["eventBody"], "SystemMessageSystemMessage")
            expect_model(body, gc.SystemMessageSystemMessage, "system message body")
            expect(body.channel_id == fresh.id, f"channelId {body.channel_id!r}, expected {fresh.id!r}")
            return own_notifications, fresh, found[0]["topicName"], body

        def check_no_longer_subscribed():
            own, fresh, topic, body = system_message(
                {"noLongerSubscribedAfterSecs": 1, "rateLimitPerMinute": 0}, False)
            expect(body.system_topic_type == "no_longer_subscribed", f"type {body.system_topic_type!r}")
            expect(body.reason == "another_channel_subscribed", f"reason {body.reason!r}")
            left = own.get_notifications_channel_subscriptions(fresh.id)
            expect(not left.entities, f"{len(left.entities)} topics left after no_longer_subscribed")
            return f"{topic}: {body.system_topic_type}/{body.reason}, subscriptions emptied"

        c("websocket: no_longer_subscribed as SystemMessageSystemMessage", check_no_longer_subscribed)

        def check_token_revoked():
            own, fresh, topic, body = system_message(
                {"tokenRevokedAfterSecs": 1, "rateLimitPerMinute": 0}, True)
            expect(body.system_topic_type == "token_revoked", f"type {body.system_topic_type!r}")
            expect(body.reason == "user_tokens_revoked", f"reason {body.reason!r}")
            e = raises(own.post_notifications_channels)
            err = error_body(api, e, 401)
            notifications.get_notifications_channel_subscriptions(channel.id)  # ours still works
            return f"{topic}: {body.system_topic_type}/{body.reason}; that token now 401 {err.code}"

        c("websocket: token_revoked as SystemMessageSystemMessage, token refused after", check_token_revoked)


        ended = []
        for text in collector.frames:
            frame = json.loads(text)
            if not frame.get("topicName", "").endswith(".conversations.calls"):
                continue
            body = frame.get("eventBody") or {}
            legs_now = body.get("participants") or []
            if body.get("id") not in (conf_id, many_id, staged_id, ringing_id, None) and body["id"] not in ended \
                    and legs_now and all(p.get("state") in ("disconnected", "terminated") for p in legs_now):
                ended.append(body["id"])
        if ended:
            def check_ended():
                kinds = set()
                for conversation_id in ended[: args.max_calls]:
                    _, call = check_get_call(conversation_id)
                    check_get_generic(conversation_id)
                    kinds |= {p.disconnect_type for p in call.participants}
                return f"{min(len(ended), args.max_calls)} calls that ended while listening; disconnectTypes {sorted(kinds)}"

            c("conversations: calls that ended while listening, both shapes", check_ended)
        else:
            checks.skip("conversations: calls that ended while listening", "no call ended while listening")


    answered = mock.call("POST", "/mock/conversations", {
        "queue": SALES,
        "participants": [
            {"name": "Customer Three", "purpose": "customer"},
            {"name": "Dana Okafor", "purpose": "agent", "state": "alerting"},
        ],
    })
    answered_id = answered["id"]
    dana = next(p["id"] for p in answered["participants"] if p["name"] == "Dana Okafor")

    def check_patch_connected():
        body = make(gc.MediaParticipantRequest, state="connected")
        out = conversations.patch_conversations_call_participant(answered_id, dana, body)
        expect(out is None, f"returned {out!r}")
        expect(api.last_response.status == 202, f"status {api.last_response.status}")
        now = wait_for(lambda: participant(answered_id, dana).state == "connected")
        expect(now, "the ringing leg was not answered")
        return "None/202; the ringing leg went connected"

    c("conversations: participant PATCH state connected answers a ringing leg", check_patch_connected)

    def check_teardown():
        out = conversations.post_conversation_disconnect(answered_id)
        expect(isinstance(out, str) and out, f"returned {out!r}, the SDK's return type is str")
        expect(api.last_response.status == 202, f"status {api.last_response.status}")
        return f"{out!r}/202 (str, as the SDK declares)"

    c("conversations: post_conversation_disconnect -> str", check_teardown)

    def check_channel_limit():
        # Without the rate limit (the demo's): this is about channels, not the request budget.
        made = with_faults({"rateLimitPerMinute": 0},
                           lambda: [notifications.post_notifications_channels() for _ in range(25)])
        for made_channel in made:
            expect_model(made_channel, gc.Channel, "Channel")
        # The 20 newest stay; the older ones (ours and any earlier one) were evicted.
        def read_back():
            for kept in made[5:]:
                listing(notifications.get_notifications_channel_subscriptions(kept.id), "GET kept")
            for gone in made[:5]:
                error_body(api, raises(notifications.get_notifications_channel_subscriptions, gone.id), 404)

        with_faults({"rateLimitPerMinute": 0}, read_back)
        return "25 channels made: the 20 newest kept, the 5 oldest 404 (ApiException + ErrorBody)"

    c("notifications: 20 channels per client, the least recently used evicted", check_channel_limit)


if __name__ == "__main__":
    sys.exit(main())
