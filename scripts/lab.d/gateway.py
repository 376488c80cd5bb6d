# The lab's LLM gateway stand-in: FastAPI under uvicorn, /health checks the
# database the way a real gateway's readiness probe does.
import os, time
import psycopg2
from fastapi import FastAPI, Response

STARTED = time.time()
app = FastAPI()

@app.get("/health")
def health(response: Response):
    try:
        with psycopg2.connect(os.environ["GW_DSN"], connect_timeout=1) as c, c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        return {"status": "ok", "pid": os.getpid(), "started": STARTED}
    except Exception as e:
        response.status_code = 503
        return {"status": "db-down", "error": str(e)[:200], "pid": os.getpid(), "started": STARTED}

@app.get("/")
def root():
    return {"service": "gateway", "pid": os.getpid(), "started": STARTED}
