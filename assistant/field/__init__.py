"""The field around the papers: the citation graph, related papers, the library map."""
