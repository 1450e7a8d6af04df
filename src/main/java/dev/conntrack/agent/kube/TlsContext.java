package dev.conntrack.agent.kube;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS context for the API server: it trusts the cluster CA and nothing else. The JVM's
 * cacerts (about 140 public CAs, parsed into the heap) are never loaded: no public CA has any
 * business vouching for a cluster's API server. A client certificate is offered when configured.
 */
final class TlsContext {
    private TlsContext() {
    }

    static SSLContext of(ApiServerConfig config) throws GeneralSecurityException {
        if (config.caPem() == null) {
            throw new GeneralSecurityException("no cluster CA configured for " + config.server());
        }
        KeyStore trusted = emptyStore();
        List<X509Certificate> cas = Pem.certificates(config.caPem());
        for (int i = 0; i < cas.size(); i++) {
            trusted.setCertificateEntry("ca-" + i, cas.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        KeyManagerFactory kmf = null;
        if (config.clientCertPem() != null && config.clientKeyPem() != null) {
            List<X509Certificate> chain = Pem.certificates(config.clientCertPem());
            PrivateKey key = Pem.privateKey(config.clientKeyPem());
            KeyStore identity = emptyStore();
            char[] password = new char[0];
            identity.setKeyEntry("client", key, password, chain.toArray(new X509Certificate[0]));
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(identity, password);
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    private static KeyStore emptyStore() throws GeneralSecurityException {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            return store;
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
    }
}
