from sandbox.web.status import isolation_status


def isolation(request):
    return {"isolation": isolation_status()}
