package dev.conntrack.agent.kube;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM certificates and private keys as kubeconfigs and service accounts carry them. Private keys
 * come as PKCS#8 ("PRIVATE KEY", what openssl 3 writes), PKCS#1 ("RSA PRIVATE KEY", what
 * kube-api-test and older openssl write) or SEC1 ("EC PRIVATE KEY", what kubeadm and kind write for
 * EC keys); the JDK reads only PKCS#8, so the other two are wrapped into a PKCS#8 structure here
 * rather than pulling in a crypto library for it.
 */
public final class Pem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
    /** rsaEncryption, 1.2.840.113549.1.1.1, with its NULL parameters. */
    private static final byte[] RSA_ALGORITHM = hex("300d06092a864886f70d0101010500");
    /** id-ecPublicKey, 1.2.840.10045.2.1 (its curve parameter follows). */
    private static final byte[] EC_OID = hex("06072a8648ce3d0201");

    private Pem() {
    }

    record Block(String type, byte[] der) {
    }

    static List<Block> blocks(String pem) {
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
        }
        return out;
    }

    /** Every certificate in the text (a CA bundle may hold several). */
    public static List<X509Certificate> certificates(String pem) throws GeneralSecurityException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        for (Block b : blocks(pem)) {
            if (b.type().equals("CERTIFICATE")) {
                out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
            }
        }
        if (out.isEmpty()) {
            throw new GeneralSecurityException("no PEM certificate found");
        }
        return out;
    }

    /** The first private key in the text. */
    public static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        for (Block b : blocks(pem)) {
            switch (b.type()) {
                case "PRIVATE KEY":
                    return pkcs8(b.der());
                case "RSA PRIVATE KEY":
                    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(
                            pkcs8Of(RSA_ALGORITHM, b.der())));
                case "EC PRIVATE KEY":
                    return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(
                            pkcs8Of(sequence(concat(EC_OID, ecCurve(b.der()))), b.der())));
                default:
                    break;
            }
        }
        throw new GeneralSecurityException("no PEM private key found (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING key }. */
    private static byte[] pkcs8Of(byte[] algorithm, byte[] key) {
        return sequence(concat(hex("020100"), algorithm, tlv(0x04, key)));
    }

    /**
     * The named curve of a SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID curve, [1] ... }.
     * A SEC1 key without its curve cannot be wrapped.
     */
    static byte[] ecCurve(byte[] sec1) throws GeneralSecurityException {
        Der seq = new Der(sec1, 0);
        int p = seq.contentStart;
        while (p < seq.end) {
            Der item = new Der(sec1, p);
            if (item.tag == 0xa0) {
                return java.util.Arrays.copyOfRange(sec1, item.contentStart, item.end);
            }
            p = item.end;
        }
        throw new GeneralSecurityException("EC PRIVATE KEY without a named curve");
    }

    /** One DER element's tag and bounds. */
    private static final class Der {
        final int tag;
        final int contentStart;
        final int end;

        Der(byte[] b, int at) throws GeneralSecurityException {
            if (at + 2 > b.length) {
                throw new GeneralSecurityException("truncated DER");
            }
            tag = b[at] & 0xff;
            int len = b[at + 1] & 0xff;
            int p = at + 2;
            if (len > 0x80) {
                int n = len - 0x80;
                len = 0;
                for (int i = 0; i < n; i++) {
                    len = (len << 8) | (b[p++] & 0xff);
                }
            }
            contentStart = p;
            end = p + len;
            if (end > b.length) {
                throw new GeneralSecurityException("truncated DER");
            }
        }
    }

    private static byte[] sequence(byte[] content) {
        return tlv(0x30, content);
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            out.write(0x83);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

}
