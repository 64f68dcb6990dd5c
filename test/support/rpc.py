"""Drive ringmaster's XML-RPC API with Python's own xmlrpc.client, over its unix socket.

usage: rpc.py SOCKET  < calls.json   where calls.json is [["supervisor.getPID", []], ...]
prints [{"value": ...} | {"fault": code, "string": text} | {"http": status}, ...] as JSON, one result per call.
"""
import http.client
import json
import socket
import sys
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost', timeout=60)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(self.unix_path)
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixConnection(self.unix_path)


def main():
    proxy = xmlrpc.client.ServerProxy('http://localhost/RPC2', transport=UnixTransport(sys.argv[1]), allow_none=True)
    results = []
    for method, params in json.load(sys.stdin):
        target = proxy
        for part in method.split('.'):
            target = getattr(target, part)
        try:
            results.append({'value': target(*params)})
        except xmlrpc.client.Fault as fault:
            results.append({'fault': fault.faultCode, 'string': fault.faultString})
        except xmlrpc.client.ProtocolError as err:
            results.append({'http': err.errcode})
    json.dump(results, sys.stdout)


main()
