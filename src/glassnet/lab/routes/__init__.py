"""The lab's JSON endpoints by area; `glassnet.lab.app` holds the route table.

- ``predict.py``: a trace of one input, one neuron and its formula;
- ``train.py``: training start, stop, status and its server-sent events;
- ``models.py``: the model the page uses, and the model files it saves and loads.
"""
