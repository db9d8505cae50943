"""The events the triggers build have the keys and value types of AWS's own (docs/architecture.md §6).

The reference samples below are written from the AWS documentation's examples; a generated
event must have the same keys, recursively, with values of the same JSON types."""

import json

from sandbox.engine.rules import events
from triggers import queues
from triggers.models import Queue, QueueMessage

HTTP_API_V2 = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "pathParameters": {"proxy": "my/path"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from Lambda",
    "isBase64Encoded": False,
}

S3_PUT = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2019-09-03T19:37:27.192Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
            "requestParameters": {"sourceIPAddress": "205.255.255.255"},
            "responseElements": {"x-amz-request-id": "D82B88E5F771F645", "x-amz-id-2": "vlR7PnpV2Ce81l0Pa"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "828aa6fc-f7b5-4305-8584-487c791949c1",
                "bucket": {
                    "name": "DOC-EXAMPLE-BUCKET",
                    "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                    "arn": "arn:aws:s3:::lambda-artifacts-deafc19498e3f2df",
                },
                "object": {
                    "key": "b21b84d653bb07b05b1e6b33684dc11b",
                    "size": 1305107,
                    "eTag": "b21b84d653bb07b05b1e6b33684dc11b",
                    "sequencer": "0C0F6F405D6ED209E1",
                },
            },
        }
    ]
}

SQS = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": "test",
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082649185",
            },
            "messageAttributes": {},
            "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "awsRegion": "us-east-1",
        }
    ]
}

SCHEDULE = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2015-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
    "detail": {},
}


def shape(value):
    """Keys and JSON types, recursively (list items by their first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_the_http_event_has_the_payload_2_0_shape():
    event = events.http_api_v2(
        "POST",
        "/my/path",
        "parameter1=value1&parameter1=value2&parameter2=value",
        [("Header1", "value1"), ("header2", "value1"), ("header2", "value2")],
        "Hello from Lambda",
        cookies=["cookie1", "cookie2"],
        path_parameters={"proxy": "my/path"},
    )
    assert shape(event) == shape(HTTP_API_V2)
    assert event["headers"] == HTTP_API_V2["headers"]
    assert event["queryStringParameters"] == HTTP_API_V2["queryStringParameters"]


def test_the_s3_put_record_has_the_aws_shape_and_an_url_encoded_key():
    record = events.s3_record("photos", "my photos/ä+b.jpg", 5, "5d41402abc4b2a76b9719d911017c592")
    assert shape({"Records": [record]}) == shape(S3_PUT)
    assert record["s3"]["object"]["key"] == "my+photos/%C3%A4%2Bb.jpg"
    assert record["s3"]["object"]["sequencer"].isalnum()


def test_the_s3_delete_record_has_no_size_or_etag():
    record = events.s3_record("photos", "a.txt", None, None, event_name="ObjectRemoved:Delete")
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert set(record["s3"]["object"]) == {"key", "sequencer"}


def test_a_polled_sqs_batch_has_the_aws_shape_with_the_receive_count(db):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create(username="ada")
    queue = Queue.objects.create(owner=owner, name="my-queue")
    message = queues.send_message(queue, "test")
    QueueMessage.objects.filter(pk=message.pk).update(receive_count=2)
    message.refresh_from_db()
    event = queues.build_event(queue, [message])
    assert shape(event) == shape(SQS)
    record = event["Records"][0]
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["md5OfBody"] == SQS["Records"][0]["md5OfBody"]
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:my-queue"
    assert record["messageId"] == str(message.message_id)


def test_the_scheduled_event_has_the_eventbridge_shape():
    event = events.schedule("my-scheduled-rule")
    assert shape(event) == shape(SCHEDULE)
    assert event["resources"] == SCHEDULE["resources"]
    assert json.dumps(event)  # plain JSON
