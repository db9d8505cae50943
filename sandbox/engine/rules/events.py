"""Event builders with the shapes AWS sends (docs/architecture.md §6). Pure functions: the picker's
templates and, later, the real triggers build their events here."""

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def _iso(moment=None):
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_api_v2(
    method="GET",
    path="/",
    query="",
    headers=None,
    body=None,
    cookies=None,
    source_ip="203.0.113.10",
    api_id="coldstart",
    stage="$default",
    route_key="$default",
    path_parameters=None,
    is_base64=False,
    now_ms=None,
):
    """API Gateway HTTP API payload v2.0. `headers` is a list of (name, value) pairs."""
    now_ms = now_ms or int(time.time() * 1000)
    joined = {}
    for name, value in headers or []:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    user_agent = joined.get("user-agent", "")
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": joined.get("host", f"{api_id}.execute-api.{REGION}.amazonaws.com"),
            "domainPrefix": api_id,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "routeKey": route_key,
            "stage": stage,
            "time": datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = list(cookies)
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event


def s3_record(bucket, key, size, etag, event_name="ObjectCreated:Put", sequencer=None, when=None):
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": _iso(when),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:COLDSTART"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
            "x-amz-id-2": uuid.uuid4().hex,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "coldstart-notification",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "COLDSTART"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": _s3_object(key, size, etag, sequencer),
        },
    }


def _s3_object(key, size, etag, sequencer):
    """ObjectRemoved records carry no size or eTag."""
    obj = {"key": quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    obj["sequencer"] = sequencer or f"{time.time_ns():016X}"
    return obj


def s3_put(bucket="uploads", key="photos/cat.jpg", body=b"hello"):
    return {"Records": [s3_record(bucket, key, len(body), hashlib.md5(body).hexdigest())]}


def sqs_record(body, queue="orders", message_id=None, receive_count=1, sent_ms=None, attributes=None):
    message_id = message_id or str(uuid.uuid4())
    sent_ms = sent_ms or int(time.time() * 1000)
    return {
        "messageId": message_id,
        "receiptHandle": base64.b64encode(f"{message_id}:{receive_count}".encode()).decode(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent_ms),
            "SenderId": ACCOUNT_ID,
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        },
        "messageAttributes": attributes or {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
        "awsRegion": REGION,
    }


def sqs_batch(bodies=('{"order": 1}', '{"order": 2}'), queue="orders"):
    return {"Records": [sqs_record(body, queue) for body in bodies]}


def schedule(rule="every-5-minutes", when=None):
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def dynamodb_stream(table="Orders"):
    now = int(time.time())
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "ApproximateCreationDateTime": now,
                    "Keys": {"id": {"S": "order-1"}},
                    "NewImage": {"id": {"S": "order-1"}, "total": {"N": "42.5"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": (
                    f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}/stream/2026-01-01T00:00:00.000"
                ),
            }
        ]
    }


TEMPLATES = {
    "http": (
        "API Gateway HTTP API (v2)",
        lambda: http_api_v2(
            "POST",
            "/orders",
            "coupon=spring&coupon=vip",
            [("Content-Type", "application/json"), ("User-Agent", "curl/8.5.0"), ("Host", "coldstart.local")],
            '{"item": "book", "qty": 1}',
            cookies=["session=abc123"],
        ),
    ),
    "s3": ("S3 put (file upload)", s3_put),
    "sqs": ("SQS batch (queue)", sqs_batch),
    "schedule": ("EventBridge schedule", schedule),
    "dynamodb": ("DynamoDB stream", dynamodb_stream),
    "custom": ("Custom JSON", lambda: {"name": "Ada", "course": "serverless-101"}),
}
