# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of axvcpu's documentation: "make htmldocs" renders
# Documentation/ to HTML (python3-sphinx, and graphviz for the diagrams),
# with every warning an error.

project = 'axvcpu'
copyright = 'The axvcpu authors'
author = 'The axvcpu authors'

extensions = ['sphinx.ext.graphviz']
graphviz_output_format = 'svg'

root_doc = 'index'
exclude_patterns = ['_build']
# The sources are plain reStructuredText, as the kernel's.
source_suffix = {'.rst': 'restructuredtext'}

html_theme = 'alabaster'
html_title = 'axvcpu'
html_show_sourcelink = True
html_copy_source = True
