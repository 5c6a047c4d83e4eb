"""``deltaprop playground``: a local web page that shows the backward pass, live and exact.

* :mod:`.session` -- the state (network, data, initial parameters, history) and every number shown;
* :mod:`.formulas` -- the tooltip formulas, from the steps of ``deltaprop.explain``;
* :mod:`.data` -- the 2-D data sets, and uploaded CSV files through the strict CSV reader;
* :mod:`.server` -- the Starlette app (token on every request, 127.0.0.1) and uvicorn;
* ``static/`` -- the page: plain HTML, CSS and JavaScript, which only draw.
"""
