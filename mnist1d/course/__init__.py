"""The course's own machinery, above the library and the experiments.

- :mod:`~mnist1d.course.book`: what every tool here reads from a chapter (its
  number, glued values, MyST patterns); imports nothing else from the course.
- :mod:`~mnist1d.course.plain`: chapters as plain notebooks for Jupyter and
  Colab.
- :mod:`~mnist1d.course.exercises`: each exercise's otter-grader checks, made
  from the chapter's tests cells.
- :mod:`~mnist1d.course.notebooks`: student and instructor notebooks
  (``python -m mnist1d.course.notebooks``).
- :mod:`~mnist1d.course.rehearsal`: the notebooks CI runs, a student notebook
  and then its chapter's solutions.
- :mod:`~mnist1d.course.overview`: the instructors page's tables.
- :mod:`~mnist1d.course.reproduction`: the reproduction report, its claims in
  ``claims.json``.
- :mod:`~mnist1d.course.grading`: grading a class's submissions in a sandbox
  (``python -m mnist1d.course.grading``).

The library (``mnist1d.data``, ``models``, ``train``, ...) and
``mnist1d.experiments`` never import this package (``tests/test_layout.py``).
"""
