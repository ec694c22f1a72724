"""For gunicorn in the throughput and memory benchmarks: the real app plus the bench's floor.

gunicorn bench.wsgi:app
"""

from webapp import create_app

from .harness import register_floor, register_insert_floor, register_rows_only

app = create_app()
register_floor(app)
register_insert_floor(app)
register_rows_only(app)
