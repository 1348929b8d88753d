"""The web console: create, clone, stop and watch training jobs in a browser, as SageMaker's console does.

Server-rendered pages (Jinja2) over the same platform operations the AWS API calls; htmx for the parts that
update themselves, uPlot for the accuracy chart, both shipped in static/ (no CDN, no build step).
"""

from roost.console.routes import routes

__all__ = ["routes"]
