PAGE = 100


def handler(event, context):
    rows = [{"id": i, "name": f"customer-{i:06d}"} for i in range(200_000)]
    start = int(event.get("start", 0))
    return {"count": len(rows), "rows": rows[start : start + PAGE], "next": start + PAGE}
